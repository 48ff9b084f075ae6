"""Timing helpers report durations into Locust's stats in milliseconds."""

import time

from users.timing import elapsed_ms, report


def test_known_delay_reported_in_milliseconds(user_harness):
    harness = user_harness([])
    started = time.perf_counter()
    time.sleep(0.25)
    report(harness.environment, "SQS", "SendMessage q", elapsed_ms(started), 100)

    (event,) = harness.requests
    assert 250 <= event["response_time"] < 2500
    assert event["request_type"] == "SQS"
    assert event["response_length"] == 100
    assert event["exception"] is None


def test_failure_carries_the_exception(user_harness):
    harness = user_harness([])
    error = RuntimeError("boom")
    report(harness.environment, "Kafka", "Produce t", 0.0, exception=error)

    (event,) = harness.requests
    assert event["exception"] is error
