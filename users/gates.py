"""CI gates: thresholds checked at the end of a run, each printed as pass or fail.

Any failed gate makes the process exit with code 1; when every gate passes it exits
with 0, whatever Locust's own rule on failed requests would say. Without gates,
Locust's exit code stands.
"""

import logging

import gevent

logger = logging.getLogger(__name__)

__all__ = ["GATE_OPTIONS", "WorkerWatch", "add_gate_arguments", "evaluate_gates"]

# option -> (gate name, kind): "max" gates fail above the threshold, "min" below.
GATE_OPTIONS = {
    "gate_failure_ratio": ("failure ratio", "max"),
    "gate_publish_p95_ms": ("publish p95 ms", "max"),
    "gate_publish_p99_ms": ("publish p99 ms", "max"),
    "gate_e2e_p99_ms": ("end-to-end p99 ms", "max"),
    "gate_min_messages_per_s": ("messages/s", "min"),
    "gate_max_lost": ("lost messages", "max"),
    "gate_max_duplicates": ("duplicated messages", "max"),
    "gate_max_drain_s": ("backlog drain s", "max"),
}
WORKER_WATCH_INTERVAL_S = 1.0


def add_gate_arguments(parser) -> None:
    option = parser.add_argument
    option(
        "--gate-failure-ratio",
        type=float,
        default=None,
        help="fail the run when failed requests / all requests is above this "
        "(0.01 = 1%%)",
    )
    option(
        "--gate-publish-p95-ms",
        type=float,
        default=None,
        help="fail when any service's publish p95 is above this, in ms",
    )
    option(
        "--gate-publish-p99-ms",
        type=float,
        default=None,
        help="fail when any service's publish p99 is above this, in ms",
    )
    option(
        "--gate-e2e-p99-ms",
        type=float,
        default=None,
        help="fail when any service's end-to-end p99 is above this, in ms",
    )
    option(
        "--gate-min-messages-per-s",
        type=float,
        default=None,
        help="fail when any service published fewer messages per second",
    )
    option(
        "--gate-max-lost",
        type=int,
        default=None,
        help="fail when any service lost more messages than this",
    )
    option(
        "--gate-max-duplicates",
        type=int,
        default=None,
        help="fail when any service delivered more duplicates than this",
    )
    option(
        "--gate-max-drain-s",
        type=float,
        default=None,
        help="fail when the backlog took longer than this to reach zero after "
        "publishing stopped, in seconds",
    )
    option(
        "--allow-worker-loss",
        action="store_true",
        default=False,
        help="do not fail the run when a worker stops sending heartbeats",
    )


def _gate(name: str, kind: str, threshold: float, measured: float | None) -> dict:
    if measured is None:
        passed = False
    elif kind == "max":
        passed = measured <= threshold
    else:
        passed = measured >= threshold
    return {
        "name": name,
        "threshold": threshold,
        "measured": measured,
        "passed": passed,
    }


def evaluate_gates(
    options, summary: dict, stats, drain_s: float | None, workers_lost: list[str]
) -> list[dict]:
    """Return one result per gate set in options, per service where it applies."""
    gates = []
    for option, (name, kind) in GATE_OPTIONS.items():
        threshold = getattr(options, option, None)
        if threshold is None:
            continue
        if option == "gate_failure_ratio":
            total = stats.total
            ratio = total.num_failures / total.num_requests if total.num_requests else 0
            gates.append(_gate(name, kind, threshold, round(ratio, 6)))
        elif option == "gate_max_drain_s":
            gates.append(_gate(name, kind, threshold, drain_s))
        else:
            for service, row in summary.items():
                measured = _service_value(option, row)
                gates.append(_gate(f"{name} ({service})", kind, threshold, measured))
    if workers_lost and not getattr(options, "allow_worker_loss", False):
        gates.append(
            {
                "name": f"workers lost: {', '.join(workers_lost)}",
                "threshold": 0,
                "measured": len(workers_lost),
                "passed": False,
            }
        )
    return gates


def _service_value(option: str, row: dict) -> float | None:
    return {
        "gate_publish_p95_ms": row["publish_ms"]["p95"],
        "gate_publish_p99_ms": row["publish_ms"]["p99"],
        "gate_e2e_p99_ms": row["end_to_end_ms"]["p99"],
        "gate_min_messages_per_s": row["messages_per_s"],
        "gate_max_lost": row["lost"],
        "gate_max_duplicates": row["duplicates"],
    }[option]


def format_gates(gates: list[dict]) -> str:
    lines = []
    for gate in gates:
        verdict = "pass" if gate["passed"] else "FAIL"
        measured = (
            "not measured" if gate["measured"] is None else f"{gate['measured']:g}"
        )
        lines.append(
            f"  {verdict}  {gate['name']}: {measured} (limit {gate['threshold']:g})"
        )
    return "\n".join(lines)


class WorkerWatch:
    """Records the workers the master marks as missing while a test runs."""

    def __init__(self, runner) -> None:
        self.runner = runner
        self.lost: list[str] = []
        self.greenlet = gevent.spawn(self._loop)

    def _loop(self) -> None:
        while True:
            for client in list(self.runner.clients.values()):
                if client.state == "missing" and client.id not in self.lost:
                    self.lost.append(client.id)
                    logger.error("Worker %s stopped sending heartbeats", client.id)
            gevent.sleep(WORKER_WATCH_INTERVAL_S)

    def stop(self) -> None:
        self.greenlet.kill(block=False)
