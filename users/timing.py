"""Time broker calls and report them into Locust's stats through events.request."""

import time

__all__ = ["elapsed_ms", "report"]


def elapsed_ms(start_perf_s: float) -> float:
    """Return the milliseconds since start_perf_s, a time.perf_counter() reading."""
    return (time.perf_counter() - start_perf_s) * 1000.0


def report(
    environment,
    request_type: str,
    name: str,
    response_time_ms: float | None,
    response_length_bytes: int = 0,
    exception: BaseException | None = None,
    start_time_s: float | None = None,
) -> None:
    """Fire one request event, the way every msgload user reports a broker call.

    response_time_ms is the call's duration, or None when it has none (a call that
    failed before reaching the service); start_time_s is its wall-clock start
    (time.time()), which Locust stores with the sample.
    """
    environment.events.request.fire(
        request_type=request_type,
        name=name,
        response_time=response_time_ms,
        response_length=response_length_bytes,
        exception=exception,
        context={},
        start_time=start_time_s,
        url=None,
    )
