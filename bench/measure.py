"""The parts every measured client shares: command line, window and output.

Each client runs in a process of its own, started by bench.runner, and prints one
JSON line: the messages acknowledged inside the measured window, the window's
wall-clock length, the process's CPU time in it, and publish p50 and p99.
"""

import argparse
import json
import math
import time
from dataclasses import dataclass, field

__all__ = ["Window", "child_arguments", "percentile", "print_result"]

DEFAULT_WARMUP_S = 2.0
DEFAULT_DURATION_S = 6.0
DEFAULT_MESSAGE_SIZE_BYTES = 100
DEFAULT_MAX_IN_FLIGHT = 1000
DEFAULT_KAFKA_BATCH = 10
RESULT_PREFIX = "BENCH_RESULT "


def child_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the options bench.runner passes to every client process."""
    parser = argparse.ArgumentParser(prog="python -m bench.child")
    parser.add_argument("client")
    parser.add_argument("--bootstrap-servers", default="")
    parser.add_argument("--endpoint-url", default="")
    parser.add_argument("--name", required=True, help="topic or queue to use")
    parser.add_argument("--warmup-s", type=float, default=DEFAULT_WARMUP_S)
    parser.add_argument("--duration-s", type=float, default=DEFAULT_DURATION_S)
    parser.add_argument(
        "--message-size-bytes", type=int, default=DEFAULT_MESSAGE_SIZE_BYTES
    )
    parser.add_argument("--max-in-flight", type=int, default=DEFAULT_MAX_IN_FLIGHT)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_KAFKA_BATCH)
    return parser.parse_args(argv)


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the nearest-rank percentile of values (fraction 0..1), None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Window:
    """The measured part of a run: acknowledgements and latencies inside it count.

    start_s and end_s are time.perf_counter() readings; the window is open from
    start_s until end_s. Until opened, start_s is infinite, so nothing counts.
    """

    start_s: float = math.inf
    end_s: float = math.inf
    cpu_start_s: float = 0.0
    cpu_end_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def open(self) -> None:
        self.cpu_start_s = time.process_time()
        self.start_s = time.perf_counter()

    def close(self) -> None:
        self.end_s = time.perf_counter()
        self.cpu_end_s = time.process_time()

    def record(self, started_s: float) -> None:
        """Record one acknowledgement of a send that started at started_s."""
        now = time.perf_counter()
        if self.start_s <= now < self.end_s:
            self.latencies_ms.append((now - started_s) * 1000.0)

    def result(self) -> dict:
        return {
            "messages": len(self.latencies_ms),
            "elapsed_s": self.end_s - self.start_s,
            "cpu_s": self.cpu_end_s - self.cpu_start_s,
            "p50_ms": percentile(self.latencies_ms, 0.50),
            "p99_ms": percentile(self.latencies_ms, 0.99),
        }


def print_result(result: dict) -> None:
    """Print result as the one line bench.runner reads from the client's output."""
    print(RESULT_PREFIX + json.dumps(result), flush=True)
