"""Tests for CloudWatch metrics: live through a local moto server, and from JSON."""

from datetime import UTC, datetime, timedelta

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from analysis.aws import make_client
from analysis.cloudwatch import (
    Resources,
    build_queries,
    fetch_metric_data,
    read_metric_data_json,
)
from analysis.errors import AnalysisInputError

START = datetime(2026, 12, 4, 15, 17, tzinfo=UTC)


def put_visible(client, queue_name: str, minute: int, second: int, value: float):
    client.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": queue_name}],
                "Timestamp": START.replace(minute=minute, second=second),
                "Value": value,
            }
        ],
    )


def test_live_metrics_from_moto(moto_url, aws_env):
    client = make_client("cloudwatch", "us-east-1", moto_url)
    put_visible(client, "live-q", 18, 10, 40.0)
    put_visible(client, "live-q", 18, 40, 70.0)
    put_visible(client, "live-q", 20, 5, 15.0)
    queries = build_queries(Resources(queue_names=("live-q",)))

    samples = fetch_metric_data(
        client, queries, pd.Timestamp(START), pd.Timestamp(START + timedelta(minutes=5))
    )

    visible = samples[samples["metric"] == "visible"]
    assert visible["timestamp"].tolist() == [
        pd.Timestamp("2026-12-04T15:18:00Z"),
        pd.Timestamp("2026-12-04T15:20:00Z"),
    ]
    # Two datapoints in the 15:18 minute: Maximum keeps 70, a Sum would give 110.
    assert visible["value"].tolist() == [70.0, 15.0]
    assert set(visible["resource"]) == {"live-q"}


def test_minute_without_datapoint_has_no_row(moto_url, aws_env):
    client = make_client("cloudwatch", "us-east-1", moto_url)
    put_visible(client, "gap-q", 17, 30, 5.0)
    put_visible(client, "gap-q", 19, 30, 9.0)
    queries = build_queries(Resources(queue_names=("gap-q",)))

    samples = fetch_metric_data(
        client, queries, pd.Timestamp(START), pd.Timestamp(START + timedelta(minutes=3))
    )

    minutes = samples["timestamp"].dt.strftime("%H:%M").tolist()
    assert minutes == ["15:17", "15:19"]
    assert 0.0 not in samples["value"].tolist()


def test_gauges_never_use_sum():
    resources = Resources(
        queue_names=("q",),
        stream_names=("s",),
        kafka_cluster="c",
        consumer_groups=("g",),
        topics=("t",),
        ecs_cluster="e",
        ecs_services=("svc",),
        mq_broker="b",
        mq_queues=("mq",),
    )
    stats = {
        query["MetricStat"]["Metric"]["MetricName"]: query["MetricStat"]["Stat"]
        for query in build_queries(resources)
    }
    assert stats["ApproximateNumberOfMessagesVisible"] == "Maximum"
    assert stats["ApproximateAgeOfOldestMessage"] == "Maximum"
    assert stats["GetRecords.IteratorAgeMilliseconds"] == "Maximum"
    assert stats["SumOffsetLag"] == "Maximum"
    assert stats["RunningTaskCount"] == "Average"
    assert stats["QueueSize"] == "Maximum"
    assert stats["NumberOfMessagesSent"] == "Sum"
    assert len(stats) == 15


def test_msk_query_has_group_and_topic():
    resources = Resources(kafka_cluster="c", consumer_groups=("g",), topics=("t",))
    query = build_queries(resources)[0]
    dimensions = query["MetricStat"]["Metric"]["Dimensions"]
    assert dimensions == [
        {"Name": "Cluster Name", "Value": "c"},
        {"Name": "Consumer Group", "Value": "g"},
        {"Name": "Topic", "Value": "t"},
    ]
    assert query["Label"] == "Kafka|g/t|consumer_lag"


def test_next_token_pages_are_followed():
    client = boto3.client(
        "cloudwatch",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    queries = build_queries(Resources(queue_names=("q",)))[:1]
    label = queries[0]["Label"]
    first = {
        "MetricDataResults": [
            {
                "Id": "m0",
                "Label": label,
                "Timestamps": [START + timedelta(minutes=2)],
                "Values": [2.0],
                "StatusCode": "PartialData",
            }
        ],
        "NextToken": "page-2",
        "Messages": [],
    }
    second = {
        "MetricDataResults": [
            {
                "Id": "m0",
                "Label": label,
                "Timestamps": [START + timedelta(minutes=1)],
                "Values": [1.0],
                "StatusCode": "Complete",
            }
        ],
        "Messages": [],
    }
    with Stubber(client) as stubber:
        stubber.add_response("get_metric_data", first)
        stubber.add_response("get_metric_data", second)
        samples = fetch_metric_data(
            client,
            queries,
            pd.Timestamp(START),
            pd.Timestamp(START) + timedelta(hours=1),
        )
        stubber.assert_no_pending_responses()
    assert samples["value"].tolist() == [1.0, 2.0]


def test_cli_json_is_sorted_by_time(fixtures):
    samples = read_metric_data_json(fixtures / "cloudwatch_capacity.json")
    tasks = samples[samples["metric"] == "running_tasks"]
    assert tasks["value"].tolist() == [1.0, 2.5, 4.0, 4.0]
    assert tasks["timestamp"].is_monotonic_increasing
    assert str(tasks["timestamp"].dt.tz) == "UTC"


def test_default_label_maps_to_metric(fixtures):
    samples = read_metric_data_json(fixtures / "cloudwatch_capacity.json")
    visible = samples[samples["metric"] == "visible"]
    assert set(visible["service"]) == {"SQS"}
    assert visible["value"].tolist() == [2300.0, 3000.0]


def test_malformed_cloudwatch_json_raises(tmp_path):
    path = tmp_path / "cw.json"
    path.write_text('{"MetricDataResults": [')
    with pytest.raises(AnalysisInputError, match="not valid JSON"):
        read_metric_data_json(path)


def test_json_of_another_call_raises(tmp_path):
    path = tmp_path / "cw.json"
    path.write_text('{"Datapoints": []}')
    with pytest.raises(AnalysisInputError, match="no MetricDataResults"):
        read_metric_data_json(path)
