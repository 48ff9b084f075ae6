"""Command line: `python -m analysis report RUN_DIR [options]` and `queries`.

Exit status 0 when the report was written, 2 for input that cannot be used (the
message says which file and how to fix it).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

__all__ = ["main"]

logger = logging.getLogger(__name__)

DEFAULT_REGION = "us-east-1"
EXIT_BAD_INPUT = 2


def _positive_seconds(text: str) -> int:
    """Parse --bin-s: a whole number of seconds above zero."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}; give a whole number of seconds above 0, "
            "e.g. --bin-s 10."
        )
    return value


def _non_negative_level(text: str) -> float:
    """Parse --backlog-threshold: a number at or above zero."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}; give a backlog level of 0 or more, "
            "e.g. --backlog-threshold 1000."
        )
    return value


def _add_resource_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("AWS resources whose CloudWatch metrics to fetch")
    for flag, help_text in (
        ("--queue-name", "SQS queue name (repeatable)"),
        ("--stream-name", "Kinesis stream name (repeatable)"),
        ("--consumer-group", "MSK consumer group (repeatable)"),
        ("--topic", "MSK topic (repeatable)"),
        ("--ecs-service", "ECS service name (repeatable)"),
        ("--mq-queue", "Amazon MQ queue name (repeatable)"),
    ):
        group.add_argument(flag, action="append", default=[], help=help_text)
    group.add_argument("--kafka-cluster", default="", help="MSK cluster name")
    group.add_argument("--ecs-cluster", default="", help="ECS cluster name")
    group.add_argument("--mq-broker", default="", help="Amazon MQ broker name")
    group.add_argument(
        "--period-s", type=int, default=60, help="CloudWatch period in seconds"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis")
    commands = parser.add_subparsers(dest="command", required=True)

    report = commands.add_parser(
        "report", help="write report.html, summary.md, timeline.csv"
    )
    report.add_argument("run_dir", type=Path, help="the run's results folder")
    report.add_argument(
        "--cloudwatch-json",
        type=Path,
        action="append",
        default=[],
        help="output of aws cloudwatch get-metric-data (repeatable)",
    )
    report.add_argument(
        "--events-json",
        type=Path,
        action="append",
        default=[],
        help="output of describe-scaling-activities, describe-alarm-history, "
        "ecs describe-services or kubectl get events -o json (repeatable)",
    )
    report.add_argument("--live", action="store_true", help="fetch from the API now")
    report.add_argument("--region", default=DEFAULT_REGION, help="AWS region")
    report.add_argument(
        "--endpoint-url",
        default="",
        help="API endpoint for --live, e.g. a local moto server; required with --live",
    )
    report.add_argument(
        "--resource-id",
        action="append",
        default=[],
        help="scalable target or Kubernetes object whose events to keep (repeatable)",
    )
    report.add_argument(
        "--alarm-name", action="append", default=[], help="alarm to keep (repeatable)"
    )
    report.add_argument(
        "--backlog-threshold",
        type=_non_negative_level,
        default=None,
        help="backlog level, in the backlog metric's unit, that should trigger scaling",
    )
    report.add_argument(
        "--bin-s",
        type=_positive_seconds,
        default=10,
        help="timeline bin in seconds (above 0)",
    )
    _add_resource_options(report)

    queries = commands.add_parser(
        "queries", help="print GetMetricData queries for aws cloudwatch get-metric-data"
    )
    _add_resource_options(queries)
    return parser


def _resources(options):
    from analysis.cloudwatch import Resources

    return Resources(
        queue_names=tuple(options.queue_name),
        stream_names=tuple(options.stream_name),
        kafka_cluster=options.kafka_cluster,
        consumer_groups=tuple(options.consumer_group),
        topics=tuple(options.topic),
        ecs_cluster=options.ecs_cluster,
        ecs_services=tuple(options.ecs_service),
        mq_broker=options.mq_broker,
        mq_queues=tuple(options.mq_queue),
    )


def _report(options) -> int:
    import pandas as pd

    from analysis import cloudwatch, events
    from analysis.errors import AnalysisInputError
    from analysis.read import check_run_folder, read_run
    from analysis.report import write_report

    if options.live and not options.endpoint_url:
        raise AnalysisInputError(
            "--live needs --endpoint-url, so that nothing reaches AWS by default; "
            "pass the endpoint to query, e.g. http://127.0.0.1:5000 for moto."
        )
    check_run_folder(options.run_dir)
    run = read_run(options.run_dir)
    start, end = run.window()
    samples = [cloudwatch.read_metric_data_json(p) for p in options.cloudwatch_json]
    found = []
    for path in options.events_json:
        found += events.read_events_json(path, options.resource_id)
    if options.live:
        from analysis.live import fetch_live

        live_samples, live_events = fetch_live(options, _resources(options), start, end)
        samples.append(live_samples)
        found += live_events
    if options.alarm_name:
        found = [
            event
            for event in found
            if event["source"] != "alarm" or event["resource"] in options.alarm_name
        ]
    metrics = pd.concat(samples, ignore_index=True) if samples else None
    selected = events.select_events(found, start, end)
    files = write_report(
        run, metrics, selected, options.backlog_threshold, options.bin_s
    )
    print(f"Wrote {files.html}, {files.markdown} and {files.timeline_csv}")
    for note in files.notes:
        print(f"Note: {note}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    logging.basicConfig(
        level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    options = _parser().parse_args(argv)
    from analysis.errors import AnalysisInputError

    try:
        if options.command == "queries":
            from analysis.cloudwatch import build_queries

            print(
                json.dumps(
                    build_queries(_resources(options), options.period_s), indent=2
                )
            )
            return 0
        return _report(options)
    except AnalysisInputError as error:
        print(f"Error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
