"""Tests for scaling events from exported JSON and from the APIs (stubbed shapes)."""

import json
from datetime import UTC, datetime

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber

from analysis.errors import AnalysisInputError
from analysis.events import (
    fetch_scaling_activities,
    read_events_json,
    select_events,
)

CONSUMER = "service/msgload/consumer"
START = pd.Timestamp("2026-12-04T15:17:00Z")
END = pd.Timestamp("2026-12-04T15:24:00Z")


def test_activities_of_other_resources_are_excluded(fixtures):
    found = read_events_json(fixtures / "scaling_activities.json", [CONSUMER])
    assert {event["resource"] for event in found} == {CONSUMER}


def test_activities_outside_window_are_excluded(fixtures):
    found = read_events_json(fixtures / "scaling_activities.json", [CONSUMER])
    events = select_events(found, START, END)
    assert events["timestamp"].tolist() == [pd.Timestamp("2026-12-04T15:19:30.123456Z")]
    assert events["kind"].tolist() == ["scale_out"]
    assert events["capacity"].tolist() == [4.0]
    assert events["end_time"].iloc[0] == pd.Timestamp("2026-12-04T15:19:31.456Z")


def test_alarm_state_changes_of_target_only(fixtures):
    found = read_events_json(fixtures / "alarm_history.json", [CONSUMER])
    events = select_events(found, START, END)
    assert events["kind"].tolist() == ["alarm"]
    assert events["timestamp"].tolist() == [pd.Timestamp("2026-12-04T15:19:10.567Z")]
    assert "billing-alarm" not in set(events["resource"])


def test_ecs_service_events_are_classified(fixtures):
    found = read_events_json(fixtures / "ecs_services.json", [CONSUMER])
    events = select_events(found, START, END)
    assert events["kind"].tolist() == ["tasks_started", "steady_state"]
    assert set(events["resource"]) == {CONSUMER}


def test_ecs_events_of_other_service_are_excluded(fixtures):
    found = read_events_json(fixtures / "ecs_services.json", ["service/msgload/web"])
    assert found == []


def test_keda_and_hpa_rescales_are_scale_outs(fixtures):
    found = read_events_json(fixtures / "kubectl_events.json", ["consumer"])
    events = select_events(found, START, END)
    assert events["kind"].tolist() == ["scale_out", "scale_out"]
    assert events["capacity"].tolist() == [1.0, 4.0]
    assert set(events["resource"]) == {"msgload/consumer", "msgload/keda-hpa-consumer"}


def test_unknown_events_json_raises(tmp_path):
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"Items": []}))
    with pytest.raises(AnalysisInputError, match="describe-scaling-activities"):
        read_events_json(path)


def test_malformed_events_json_raises(tmp_path):
    path = tmp_path / "events.json"
    path.write_text("[{")
    with pytest.raises(AnalysisInputError, match="not valid JSON"):
        read_events_json(path)


def activity(start: datetime, count: int) -> dict:
    return {
        "ActivityId": f"activity-{count}",
        "ServiceNamespace": "ecs",
        "ResourceId": CONSUMER,
        "ScalableDimension": "ecs:service:DesiredCount",
        "Description": f"Setting desired count to {count}.",
        "Cause": "monitor alarm TargetTracking-service/msgload/consumer-AlarmHigh-1 "
        "in state ALARM triggered policy p",
        "StartTime": start,
        "EndTime": start,
        "StatusCode": "Successful",
    }


def test_paging_stops_before_window_start():
    client = boto3.client(
        "application-autoscaling",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    newest = {
        "ScalingActivities": [activity(datetime(2026, 12, 4, 15, 20, tzinfo=UTC), 4)],
        "NextToken": "t1",
    }
    reaching_back = {
        "ScalingActivities": [activity(datetime(2026, 12, 4, 14, 0, tzinfo=UTC), 2)],
        "NextToken": "t2",
    }
    expected = {"ServiceNamespace": "ecs", "ResourceId": CONSUMER}
    with Stubber(client) as stubber:
        stubber.add_response("describe_scaling_activities", newest, expected)
        stubber.add_response(
            "describe_scaling_activities",
            reaching_back,
            {**expected, "NextToken": "t1"},
        )
        found = fetch_scaling_activities(client, CONSUMER, START)
        # A third page (NextToken t2) was never requested.
        stubber.assert_no_pending_responses()
    assert len(found) == 2
    assert select_events(found, START, END)["capacity"].tolist() == [4.0]
