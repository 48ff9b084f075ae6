"""A stand-in consumer service for local runs: consumers that spend a set time on
each message, and a scaler that adds consumers the way a target tracking policy
on backlog per consumer would.

Each scaling action is written to scaling_activities.json in the run folder, in the
shape of Application Auto Scaling's DescribeScalingActivities response, so the
analysis report reads it like activities exported from AWS.
"""

import datetime as dt
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gevent
from locust import events

from users.errors import translate
from users.run import utc_now

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_RESOURCE_ID",
    "SCALING_ACTIVITIES_FILE",
    "ConsumerScaler",
    "ProcessingTimeMixin",
    "ScalingActivityLog",
    "ScalingPolicy",
    "desired_count",
]

DEFAULT_PROCESSING_MS = 0.0
DEFAULT_RESOURCE_ID = "service/msgload/local-consumers"
SCALING_ACTIVITIES_FILE = "scaling_activities.json"
POLICY_NAME = "msgload-backlog-per-consumer"
IN_SERVICE_POLL_S = 0.2
DEFAULT_IN_SERVICE_TIMEOUT_S = 30.0


@events.init_command_line_parser.add_listener
def _add_processing_argument(parser) -> None:
    parser.add_argument(
        "--processing-ms",
        type=float,
        default=DEFAULT_PROCESSING_MS,
        help="milliseconds each consumer spends on every message it received before "
        "deleting it, to stand in for the work of a real consumer (default 0)",
    )


class ProcessingTimeMixin:
    """Makes an SQS consumer spend --processing-ms per received message between the
    receive and the delete, so its capacity is about 1000 / processing_ms messages
    per second."""

    def consume(self) -> None:
        if not self.ensure_queue():
            return
        messages = self.receive()
        if not messages:
            return
        self.process(messages)
        self.delete(messages)

    def process(self, messages: list[dict]) -> None:
        processing_ms = getattr(self.settings.options, "processing_ms", 0.0) or 0.0
        gevent.sleep(len(messages) * processing_ms / 1000)


@dataclass(frozen=True)
class ScalingPolicy:
    """A target tracking policy on backlog per consumer, scale-out only."""

    min_capacity: int
    max_capacity: int
    target_backlog_per_consumer: float
    scale_out_cooldown_s: float
    evaluation_interval_s: float


def desired_count(
    policy: ScalingPolicy,
    backlog: float,
    current: int,
    seconds_since_scale_out: float | None,
) -> int:
    """Return the consumer count the policy sets for this backlog.

    Like target tracking, the new count is the one that brings backlog per consumer
    back to the target: ceil(backlog / target), within min and max capacity. The
    count only grows, and not again within the scale-out cooldown.
    """
    floor = max(current, policy.min_capacity)
    target_count = math.ceil(backlog / policy.target_backlog_per_consumer)
    target_count = min(policy.max_capacity, max(policy.min_capacity, target_count))
    if target_count <= floor:
        return floor
    cooling = seconds_since_scale_out is not None and (
        seconds_since_scale_out < policy.scale_out_cooldown_s
    )
    return floor if cooling else target_count


class ScalingActivityLog:
    """Scaling activities of one resource, written as a DescribeScalingActivities
    response (newest first) after each new activity."""

    def __init__(self, path: Path | None, resource_id: str = DEFAULT_RESOURCE_ID):
        self.path = path
        self.resource_id = resource_id
        self.alarm_name = f"TargetTracking-{resource_id}-AlarmHigh-{uuid.uuid4()}"
        self.activities: list[dict] = []

    def record_scale_out(
        self,
        new_count: int,
        started_at: dt.datetime,
        ended_at: dt.datetime | None,
        details: str,
    ) -> dict:
        """Add the activity of a scale-out to new_count; None for ended_at means the
        consumers were not all running when the scaler stopped waiting for them."""
        activity = {
            "ActivityId": str(uuid.uuid4()),
            "ServiceNamespace": "ecs",
            "ResourceId": self.resource_id,
            "ScalableDimension": "ecs:service:DesiredCount",
            "Description": f"Setting desired count to {new_count}.",
            "Cause": f"monitor alarm {self.alarm_name} in state ALARM triggered "
            f"policy {POLICY_NAME}",
            "StartTime": started_at.isoformat(),
            "StatusCode": "Successful" if ended_at else "InProgress",
            "StatusMessage": f"Successfully set desired count to {new_count}. "
            "Change successfully fulfilled by ecs."
            if ended_at
            else f"Waiting for {new_count} consumers to run.",
            "Details": details,
        }
        if ended_at is not None:
            activity["EndTime"] = ended_at.isoformat()
        self.activities.insert(0, activity)
        self.write()
        return activity

    def write(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_suffix(".json.tmp")
        document = {"ScalingActivities": self.activities}
        temporary.write_text(json.dumps(document, indent=2) + "\n")
        os.replace(temporary, self.path)


class ConsumerScaler:
    """A greenlet that reads the backlog every evaluation interval and raises the
    desired consumer count when backlog per consumer is above the target.

    desired is the consumer count the scaler requests, and a load shape starts that many
    users. An activity ends when running_consumers() reaches the new count.
    """

    def __init__(
        self,
        policy: ScalingPolicy,
        read_backlog: Callable[[], float],
        running_consumers: Callable[[], int],
        activities: ScalingActivityLog,
        in_service_timeout_s: float = DEFAULT_IN_SERVICE_TIMEOUT_S,
    ) -> None:
        self.policy = policy
        self.read_backlog = read_backlog
        self.running_consumers = running_consumers
        self.activities = activities
        self.in_service_timeout_s = in_service_timeout_s
        self.desired = policy.min_capacity
        self.last_scale_out_s: float | None = None
        self.greenlet: gevent.Greenlet | None = None
        self._read_failed = False

    def start(self) -> None:
        self.activities.write()
        self.greenlet = gevent.spawn(self._loop)

    def stop(self) -> None:
        if self.greenlet is not None:
            self.greenlet.kill(block=True)
            self.greenlet = None

    def _loop(self) -> None:
        while True:
            gevent.sleep(self.policy.evaluation_interval_s)
            self.evaluate_once()

    def evaluate_once(self) -> None:
        try:
            backlog = self.read_backlog()
        except Exception as error:  # noqa: BLE001 - a missed evaluation, logged once
            if not self._read_failed:
                self._read_failed = True
                logger.warning(
                    "Scaler of %s could not read the backlog: %s",
                    self.activities.resource_id,
                    translate(error),
                )
            return
        now_s = time.monotonic()
        since_s = (
            None if self.last_scale_out_s is None else now_s - self.last_scale_out_s
        )
        target_count = desired_count(self.policy, backlog, self.desired, since_s)
        if target_count > self.desired:
            self.scale_out(target_count, backlog)

    def scale_out(self, new_count: int, backlog: float) -> None:
        started_at = utc_now()
        previous = self.desired
        self.desired = new_count
        self.last_scale_out_s = time.monotonic()
        logger.info(
            "Scaling %s out from %s to %s consumers: backlog %s",
            self.activities.resource_id,
            previous,
            new_count,
            backlog,
        )
        ended_at = self.wait_in_service(new_count)
        per_consumer = backlog / previous if previous else backlog
        details = (
            f"Backlog {backlog:g} messages over {previous} consumers is "
            f"{per_consumer:g} per consumer, above the target "
            f"{self.policy.target_backlog_per_consumer:g}."
        )
        self.activities.record_scale_out(new_count, started_at, ended_at, details)

    def wait_in_service(self, new_count: int) -> dt.datetime | None:
        """Return when new_count consumers ran, or None after the timeout."""
        deadline_s = time.monotonic() + self.in_service_timeout_s
        while time.monotonic() < deadline_s:
            if self.running_consumers() >= new_count:
                return utc_now()
            gevent.sleep(IN_SERVICE_POLL_S)
        logger.warning(
            "%s consumers of %s were not running %g s after the scale-out",
            new_count,
            self.activities.resource_id,
            self.in_service_timeout_s,
        )
        return None
