"""Command line: `python -m bench` writes bench/RESULTS.md."""

import argparse
import logging
import sys
from pathlib import Path

from bench.measure import (
    DEFAULT_DURATION_S,
    DEFAULT_KAFKA_BATCH,
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_MESSAGE_SIZE_BYTES,
    DEFAULT_WARMUP_S,
)
from bench.runner import REPO, BenchOptions, run_bench

DEFAULT_ROUNDS = 3
DEFAULT_OUTPUT = REPO / "bench" / "RESULTS.md"
# Inside the virtual environment's folder, so git, ruff and `make clean` treat it
# as part of the environment, while only the peer's process imports from it.
DEFAULT_PEER_PACKAGES = Path(sys.prefix) / "bench-packages"


def parse_args(argv: list[str]) -> BenchOptions:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure msgload's producer users against the raw clients on "
        "the same local brokers and write the results as Markdown.",
    )
    option = parser.add_argument
    option("--rounds", type=int, default=DEFAULT_ROUNDS, help="rounds of every client")
    option("--warmup-s", type=float, default=DEFAULT_WARMUP_S, help="warm-up, s")
    option(
        "--duration-s",
        type=float,
        default=DEFAULT_DURATION_S,
        help="measured window of each run, s",
    )
    option("--message-size-bytes", type=int, default=DEFAULT_MESSAGE_SIZE_BYTES)
    option(
        "--max-in-flight",
        type=int,
        default=DEFAULT_MAX_IN_FLIGHT,
        help="Kafka sends awaiting acknowledgement, raw and msgload",
    )
    option(
        "--batch-size",
        type=int,
        default=DEFAULT_KAFKA_BATCH,
        help="msgload's Kafka sends per task (1 to 10)",
    )
    option("--output", type=Path, default=DEFAULT_OUTPUT, help="Markdown file")
    option(
        "--no-peer",
        dest="peer",
        action="store_false",
        help="leave out locust-plugins' KafkaUser",
    )
    option(
        "--peer-packages",
        type=Path,
        default=DEFAULT_PEER_PACKAGES,
        help="folder for locust-plugins and confluent-kafka (pip --target)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.duration_s <= 0 or args.warmup_s < 0:
        parser.error("--rounds must be 1 or more and --duration-s above 0")
    return BenchOptions(**vars(args))


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.CRITICAL)
    options = parse_args(sys.argv[1:] if argv is None else argv)
    report = run_bench(options)
    print(f"Wrote {options.output}")
    for target in report.targets:
        verdict = "met" if target.passed else "missed"
        print(f"  {target.name}: {target.measured} ({verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
