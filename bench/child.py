"""Entry point of one measured client: `python -m bench.child CLIENT [options]`.

Each client imports only what it measures, so the raw loops run without Locust
and without gevent's monkey-patching.
"""

import sys

from bench.measure import child_arguments, print_result

__all__ = ["CLIENTS", "main"]

CLIENTS = ("kafka-raw", "kafka-suite", "sqs-raw", "sqs-suite", "kafka-peer")


def main(argv: list[str] | None = None) -> int:
    args = child_arguments(argv)
    if args.client == "kafka-raw":
        from bench.kafka_raw import run_kafka_raw as run
    elif args.client == "kafka-suite":
        from bench.suite import run_kafka_suite as run
    elif args.client == "sqs-raw":
        from bench.sqs_raw import run_sqs_raw as run
    elif args.client == "sqs-suite":
        from bench.suite import run_sqs_suite as run
    elif args.client == "kafka-peer":
        from bench.peer import run_peer as run
    else:
        print(f"Unknown client {args.client!r}; choose one of {', '.join(CLIENTS)}")
        return 2
    print_result(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
