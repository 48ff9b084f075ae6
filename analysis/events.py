"""Read scaling events, live through boto3 or from exported JSON, for one window.

Sources: Application Auto Scaling scaling activities, CloudWatch alarm state
changes, ECS service events and Kubernetes events (HPA and KEDA). Each becomes a
row of timestamp, source, resource, kind, capacity, end_time and description.
Events of resources that were not asked for, or outside the window, are left out.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from analysis.aws import to_utc
from analysis.errors import AnalysisInputError

__all__ = [
    "EVENT_COLUMNS",
    "alarm_history_events",
    "describe_services_events",
    "fetch_alarm_history",
    "fetch_scaling_activities",
    "fetch_service_events",
    "kubernetes_events",
    "read_events_json",
    "scaling_activity_events",
    "select_events",
]

logger = logging.getLogger(__name__)

EVENT_COLUMNS = (
    "timestamp",
    "source",
    "resource",
    "kind",
    "capacity",
    "end_time",
    "description",
)
_CAPACITY = re.compile(r"(?:desired count|capacity|New size:|to) (\d+)", re.I)
_ECS_KINDS = (
    ("has reached a steady state", "steady_state"),
    ("has started", "tasks_started"),
    ("has stopped", "tasks_stopped"),
)


def _event(timestamp, source, resource, kind, description, capacity=None, end=None):
    return {
        "timestamp": to_utc(timestamp),
        "source": source,
        "resource": resource,
        "kind": kind,
        "capacity": float(capacity) if capacity is not None else float("nan"),
        "end_time": to_utc(end) if end is not None else pd.NaT,
        "description": description,
    }


def _capacity(text: str) -> int | None:
    match = _CAPACITY.search(text or "")
    return int(match.group(1)) if match else None


def _direction(text: str, capacity, previous) -> str:
    """Tell a scale-out from a scale-in by the alarm named in the cause or the count."""
    if "AlarmHigh" in text or "above target" in text:
        return "scale_out"
    if "AlarmLow" in text or "below target" in text:
        return "scale_in"
    if capacity is not None and previous is not None:
        return "scale_out" if capacity > previous else "scale_in"
    return "scaling"


def scaling_activity_events(response: dict, resource_ids: Iterable[str]) -> list[dict]:
    """Turn a DescribeScalingActivities response into events of the given resources."""
    wanted = set(resource_ids)
    activities = [
        activity
        for activity in response.get("ScalingActivities", [])
        if not wanted or activity["ResourceId"] in wanted
    ]
    activities.sort(key=lambda activity: to_utc(activity["StartTime"]))
    events, previous = [], {}
    for activity in activities:
        resource = activity["ResourceId"]
        text = f"{activity.get('Description', '')} {activity.get('Cause', '')}"
        capacity = _capacity(activity.get("Description", ""))
        kind = _direction(text, capacity, previous.get(resource))
        if activity.get("StatusCode") in ("Failed", "Unfulfilled"):
            kind = "scaling_failed"
        previous[resource] = (
            capacity if capacity is not None else previous.get(resource)
        )
        events.append(
            _event(
                activity["StartTime"],
                "autoscaling",
                resource,
                kind,
                f"{activity.get('Description', '')} ({activity.get('StatusCode')})",
                capacity,
                activity.get("EndTime"),
            )
        )
    return events


def _alarm_wanted(name: str, alarm_names: set[str], resource_ids: set[str]) -> bool:
    # Target tracking alarms are named after the scalable target's resource id.
    if not alarm_names and not resource_ids:
        return True
    return name in alarm_names or any(rid in name for rid in resource_ids)


def alarm_history_events(
    response: dict, alarm_names: Iterable[str] = (), resource_ids: Iterable[str] = ()
) -> list[dict]:
    """Turn a DescribeAlarmHistory response into alarm state changes."""
    names, rids = set(alarm_names), set(resource_ids)
    events = []
    for item in response.get("AlarmHistoryItems", []):
        if item.get("HistoryItemType") != "StateUpdate":
            continue
        if not _alarm_wanted(item["AlarmName"], names, rids):
            continue
        try:
            data = json.loads(item.get("HistoryData") or "{}")
        except json.JSONDecodeError:
            data = {}
        state = data.get("newState", {}).get("stateValue", "")
        kind = {"ALARM": "alarm", "OK": "alarm_ok"}.get(state, "alarm_other")
        events.append(
            _event(
                item["Timestamp"],
                "alarm",
                item["AlarmName"],
                kind,
                item.get("HistorySummary", ""),
            )
        )
    return events


def _ecs_resource_id(service: dict) -> str:
    cluster = str(service.get("clusterArn", "")).rsplit("/", 1)[-1]
    return f"service/{cluster}/{service.get('serviceName', '')}"


def describe_services_events(response: dict, resource_ids: Iterable[str]) -> list[dict]:
    """Turn an ECS DescribeServices response into service events.

    A service matches a resource id in Application Auto Scaling's form,
    service/CLUSTER/SERVICE, or its bare service name.
    """
    wanted = set(resource_ids)
    events = []
    for service in response.get("services", []):
        resource = _ecs_resource_id(service)
        if wanted and not wanted & {resource, service.get("serviceName")}:
            continue
        for item in service.get("events", []):
            message = item.get("message", "")
            kind = next(
                (kind for phrase, kind in _ECS_KINDS if phrase in message), "ecs_event"
            )
            events.append(_event(item["createdAt"], "ecs", resource, kind, message))
    return events


def _kubernetes_kind(item: dict, capacity, previous) -> str:
    reason = item.get("reason", "")
    message = item.get("message", "")
    if reason == "KEDAScaleTargetActivated" or message.startswith("Scaled up"):
        return "scale_out"
    if reason == "KEDAScaleTargetDeactivated" or message.startswith("Scaled down"):
        return "scale_in"
    if reason in ("SuccessfulRescale", "ScalingReplicaSet"):
        return _direction(message, capacity, previous)
    return "kubernetes_event"


def _kubernetes_names(involved: dict) -> set[str]:
    name = involved.get("name", "")
    names = {name, f"{involved.get('namespace', '')}/{name}"}
    names.add(f"{involved.get('kind', '')}/{name}".lower())
    # KEDA names the HPA it manages "keda-hpa-<ScaledObject name>".
    if name.startswith("keda-hpa-"):
        names.add(name.removeprefix("keda-hpa-"))
    return names


def kubernetes_events(document: dict, resource_ids: Iterable[str]) -> list[dict]:
    """Turn `kubectl get events -o json` output into events of the given objects."""
    wanted = {rid.lower() for rid in resource_ids} | set(resource_ids)
    items = sorted(
        document.get("items", []),
        key=lambda item: str(_kubernetes_time(item)),
    )
    events, previous = [], {}
    for item in items:
        involved = item.get("involvedObject", {})
        if wanted and not wanted & _kubernetes_names(involved):
            continue
        resource = f"{involved.get('namespace', '')}/{involved.get('name', '')}"
        capacity = _capacity(item.get("message", ""))
        kind = _kubernetes_kind(item, capacity, previous.get(resource))
        if capacity is not None:
            previous[resource] = capacity
        description = f"{item.get('reason', '')}: {item.get('message', '')}"
        events.append(
            _event(
                _kubernetes_time(item),
                "kubernetes",
                resource,
                kind,
                description,
                capacity,
            )
        )
    return events


def _kubernetes_time(item: dict):
    return item.get("lastTimestamp") or item.get("eventTime") or item["firstTimestamp"]


def read_events_json(path: Path, resource_ids: Iterable[str] = ()) -> list[dict]:
    """Read one exported JSON file of any supported kind, told apart by its keys."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise AnalysisInputError(f"Events JSON file {path} not found.") from error
    except json.JSONDecodeError as error:
        raise AnalysisInputError(
            f"Events JSON file {path} is not valid JSON (line {error.lineno}: "
            f"{error.msg}); export it again with the AWS CLI or kubectl."
        ) from error
    resource_ids = list(resource_ids)
    if isinstance(document, dict) and "ScalingActivities" in document:
        return scaling_activity_events(document, resource_ids)
    if isinstance(document, dict) and "AlarmHistoryItems" in document:
        return alarm_history_events(document, resource_ids=resource_ids)
    if isinstance(document, dict) and "services" in document:
        return describe_services_events(document, resource_ids)
    if isinstance(document, dict) and document.get("kind") in ("List", "EventList"):
        return kubernetes_events(document, resource_ids)
    raise AnalysisInputError(
        f"Events JSON file {path} is not describe-scaling-activities, "
        "describe-alarm-history, ecs describe-services or kubectl get events -o json "
        "output."
    )


def select_events(
    events: list[dict], start: pd.Timestamp | None, end: pd.Timestamp | None
) -> pd.DataFrame:
    """Return the events inside [start, end] as a frame sorted by time."""
    frame = pd.DataFrame(events, columns=list(EVENT_COLUMNS))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["end_time"] = pd.to_datetime(frame["end_time"], utc=True)
    frame["capacity"] = pd.to_numeric(frame["capacity"])
    if start is not None:
        frame = frame[frame["timestamp"] >= start]
    if end is not None:
        frame = frame[frame["timestamp"] <= end]
    frame = frame.drop_duplicates(subset=["timestamp", "source", "resource", "kind"])
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def _service_namespace(resource_id: str) -> str:
    prefixes = {"service/": "ecs", "table/": "dynamodb", "function:": "lambda"}
    for prefix, namespace in prefixes.items():
        if resource_id.startswith(prefix):
            return namespace
    if resource_id.startswith("arn:aws:kafka"):
        return "kafka"
    return "custom-resource"


def fetch_scaling_activities(
    client, resource_id: str, start: pd.Timestamp
) -> list[dict]:
    """Call DescribeScalingActivities for one resource, newest first.

    Paging stops at the first page that reaches back before start, because the
    API lists activities from the newest to the oldest.
    """
    request = {
        "ServiceNamespace": _service_namespace(resource_id),
        "ResourceId": resource_id,
    }
    activities: list[dict] = []
    while True:
        page = client.describe_scaling_activities(**request)
        activities.extend(page.get("ScalingActivities", []))
        oldest = [
            to_utc(item["StartTime"]) for item in page.get("ScalingActivities", [])
        ]
        token = page.get("NextToken")
        if not token or (oldest and min(oldest) < start):
            break
        request["NextToken"] = token
    logger.info("Fetched %s scaling activities of %s", len(activities), resource_id)
    return scaling_activity_events({"ScalingActivities": activities}, [resource_id])


def fetch_alarm_history(
    client,
    start: pd.Timestamp,
    end: pd.Timestamp,
    alarm_names: Iterable[str] = (),
    resource_ids: Iterable[str] = (),
) -> list[dict]:
    """Call DescribeAlarmHistory for state changes in [start, end], every page."""
    paginator = client.get_paginator("describe_alarm_history")
    pages = paginator.paginate(
        HistoryItemType="StateUpdate",
        StartDate=start.to_pydatetime(),
        EndDate=end.to_pydatetime(),
    )
    items = [item for page in pages for item in page.get("AlarmHistoryItems", [])]
    return alarm_history_events({"AlarmHistoryItems": items}, alarm_names, resource_ids)


def fetch_service_events(client, resource_id: str) -> list[dict]:
    """Call ECS DescribeServices for a resource id of the form service/CLUSTER/NAME."""
    parts = resource_id.split("/")
    if len(parts) != 3 or parts[0] != "service":
        return []
    response = client.describe_services(cluster=parts[1], services=[parts[2]])
    return describe_services_events(response, [resource_id])
