"""Fetch CloudWatch metrics for a run's window, live or from AWS CLI JSON.

Each metric becomes rows in the long sample shape of backlog.csv (timestamp,
service, resource, metric, value), sorted by time. Gauges are requested with the
Maximum or Average statistic, never Sum, and a period without a datapoint has no
row, so it stays missing in the timeline instead of becoming zero.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.aws import to_utc
from analysis.errors import AnalysisInputError
from analysis.read import empty_samples

__all__ = [
    "COUNTER_METRICS",
    "DEFAULT_PERIOD_S",
    "METRICS",
    "MetricSpec",
    "Resources",
    "build_queries",
    "fetch_metric_data",
    "read_metric_data_json",
    "results_to_samples",
]

logger = logging.getLogger(__name__)

DEFAULT_PERIOD_S = 60
LABEL_SEPARATOR = "|"


@dataclass(frozen=True)
class MetricSpec:
    """One CloudWatch metric and the name it gets in the timeline."""

    service: str
    namespace: str
    metric_name: str
    statistic: str
    metric: str
    dimension_names: tuple[str, ...]


METRICS = (
    MetricSpec(
        "SQS",
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "Maximum",
        "visible",
        ("QueueName",),
    ),
    MetricSpec(
        "SQS",
        "AWS/SQS",
        "ApproximateNumberOfMessagesNotVisible",
        "Maximum",
        "in_flight",
        ("QueueName",),
    ),
    MetricSpec(
        "SQS",
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "Maximum",
        "oldest_message_age_s",
        ("QueueName",),
    ),
    MetricSpec("SQS", "AWS/SQS", "NumberOfMessagesSent", "Sum", "sent", ("QueueName",)),
    MetricSpec(
        "SQS", "AWS/SQS", "NumberOfMessagesReceived", "Sum", "received", ("QueueName",)
    ),
    MetricSpec(
        "SQS", "AWS/SQS", "NumberOfMessagesDeleted", "Sum", "deleted", ("QueueName",)
    ),
    MetricSpec(
        "Kinesis",
        "AWS/Kinesis",
        "IncomingRecords",
        "Sum",
        "incoming_records",
        ("StreamName",),
    ),
    MetricSpec(
        "Kinesis",
        "AWS/Kinesis",
        "GetRecords.IteratorAgeMilliseconds",
        "Maximum",
        "iterator_age_ms",
        ("StreamName",),
    ),
    MetricSpec(
        "Kinesis",
        "AWS/Kinesis",
        "WriteProvisionedThroughputExceeded",
        "Sum",
        "write_throttled",
        ("StreamName",),
    ),
    *(
        MetricSpec(
            "Kafka",
            "AWS/Kafka",
            name,
            "Maximum",
            metric,
            ("Cluster Name", "Consumer Group", "Topic"),
        )
        for name, metric in (
            ("SumOffsetLag", "consumer_lag"),
            ("MaxOffsetLag", "max_offset_lag"),
            ("EstimatedMaxTimeLag", "estimated_max_time_lag_s"),
        )
    ),
    MetricSpec(
        "ECS",
        "AWS/ECS",
        "CPUUtilization",
        "Average",
        "cpu_percent",
        ("ClusterName", "ServiceName"),
    ),
    MetricSpec(
        "ECS",
        "ECS/ContainerInsights",
        "RunningTaskCount",
        "Average",
        "running_tasks",
        ("ClusterName", "ServiceName"),
    ),
    MetricSpec(
        "ActiveMQ",
        "AWS/AmazonMQ",
        "QueueSize",
        "Maximum",
        "queue_depth",
        ("Broker", "Queue"),
    ),
)

# Metrics that count events in a period: a timeline bin adds them up. Every
# other metric is a gauge, and a bin keeps its maximum.
COUNTER_METRICS = frozenset(spec.metric for spec in METRICS if spec.statistic == "Sum")


@dataclass
class Resources:
    """The AWS resources whose metrics a report fetches; empty fields are skipped."""

    queue_names: tuple[str, ...] = ()
    stream_names: tuple[str, ...] = ()
    kafka_cluster: str = ""
    consumer_groups: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    ecs_cluster: str = ""
    ecs_services: tuple[str, ...] = ()
    mq_broker: str = ""
    mq_queues: tuple[str, ...] = ()

    def dimension_sets(self, service: str) -> list[tuple[str, ...]]:
        """Return the dimension values to query for one service, in spec order."""
        if service == "SQS":
            return [(name,) for name in self.queue_names]
        if service == "Kinesis":
            return [(name,) for name in self.stream_names]
        if service == "Kafka" and self.kafka_cluster:
            return [
                (self.kafka_cluster, group, topic)
                for group in self.consumer_groups
                for topic in self.topics
            ]
        if service == "ECS" and self.ecs_cluster:
            return [(self.ecs_cluster, name) for name in self.ecs_services]
        if service == "ActiveMQ" and self.mq_broker:
            return [(self.mq_broker, name) for name in self.mq_queues]
        return []


def _resource_label(spec: MetricSpec, values: tuple[str, ...]) -> str:
    # Kafka's resource reads "group/topic" like the local backlog sampler writes it.
    if spec.service == "Kafka":
        return f"{values[1]}/{values[2]}"
    return values[-1]


def build_queries(resources: Resources, period_s: int = DEFAULT_PERIOD_S) -> list[dict]:
    """Build GetMetricData queries; each Label reads "service|resource|metric"."""
    queries = []
    for spec in METRICS:
        for values in resources.dimension_sets(spec.service):
            dimensions = [
                {"Name": name, "Value": value}
                for name, value in zip(spec.dimension_names, values, strict=True)
            ]
            label = LABEL_SEPARATOR.join(
                (spec.service, _resource_label(spec, values), spec.metric)
            )
            queries.append(
                {
                    "Id": f"m{len(queries)}",
                    "Label": label,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": spec.namespace,
                            "MetricName": spec.metric_name,
                            "Dimensions": dimensions,
                        },
                        "Period": period_s,
                        "Stat": spec.statistic,
                    },
                    "ReturnData": True,
                }
            )
    return queries


def fetch_metric_data(
    client, queries: list[dict], start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Call GetMetricData for [start, end), following NextToken, and return samples."""
    results: list[dict] = []
    for first in range(0, len(queries), 500):
        request = {
            "MetricDataQueries": queries[first : first + 500],
            "StartTime": start.to_pydatetime(),
            "EndTime": end.to_pydatetime(),
            "ScanBy": "TimestampAscending",
        }
        while True:
            page = client.get_metric_data(**request)
            results.extend(page.get("MetricDataResults", []))
            token = page.get("NextToken")
            if not token:
                break
            request["NextToken"] = token
    logger.info(
        "Fetched %s metric result pages for %s queries", len(results), len(queries)
    )
    return results_to_samples(results)


def _identify(result: dict) -> tuple[str, str, str]:
    """Return (service, resource, metric) for one MetricDataResult.

    Labels written by build_queries carry all three. A result with CloudWatch's
    default label (the metric name) is matched against METRICS by that name.
    """
    label = str(result.get("Label") or result.get("Id") or "")
    parts = label.split(LABEL_SEPARATOR)
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    for spec in METRICS:
        if label.startswith(spec.metric_name):
            return spec.service, "", spec.metric
    return "CloudWatch", "", label


def results_to_samples(results: list[dict]) -> pd.DataFrame:
    """Turn MetricDataResults (from any number of pages) into samples sorted by time."""
    frames = []
    for result in results:
        stamps = result.get("Timestamps", [])
        values = result.get("Values", [])
        if len(stamps) != len(values):
            raise AnalysisInputError(
                f"Metric result {result.get('Id')} has {len(stamps)} timestamps but "
                f"{len(values)} values; export it again with get-metric-data."
            )
        if not stamps:
            continue
        service, resource, metric = _identify(result)
        frames.append(
            pd.DataFrame(
                {
                    "timestamp": pd.DatetimeIndex([to_utc(s) for s in stamps]),
                    "service": service,
                    "resource": resource,
                    "metric": metric,
                    "value": pd.to_numeric(pd.Series(values), errors="coerce"),
                }
            )
        )
    if not frames:
        return empty_samples()
    samples = pd.concat(frames, ignore_index=True)
    return samples.sort_values("timestamp", kind="stable").reset_index(drop=True)


def read_metric_data_json(path: Path) -> pd.DataFrame:
    """Read `aws cloudwatch get-metric-data` output: one response or a list of pages."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise AnalysisInputError(f"CloudWatch JSON file {path} not found.") from error
    except json.JSONDecodeError as error:
        raise AnalysisInputError(
            f"CloudWatch JSON file {path} is not valid JSON (line {error.lineno}: "
            f"{error.msg}); write it again with aws cloudwatch get-metric-data."
        ) from error
    pages = document if isinstance(document, list) else [document]
    if not all(
        isinstance(page, dict) and "MetricDataResults" in page for page in pages
    ):
        raise AnalysisInputError(
            f"CloudWatch JSON file {path} has no MetricDataResults; pass the output "
            "of aws cloudwatch get-metric-data."
        )
    results = [result for page in pages for result in page["MetricDataResults"]]
    return results_to_samples(results)
