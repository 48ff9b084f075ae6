"""Priority queues on Amazon SQS: a high and a low priority queue, producers that
send a set share to each, and consumers that poll by strict priority or by weight.

SQS has no message priority within a queue, so a priority class is a queue of its
own. Each class reports under a service label of its own ("SQS high", "SQS low"),
so the end-of-run summary has a row per class with its end-to-end latency and its
lost messages; Locust's entries are named after the queues, for example
"end-to-end msgload-high".
"""

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass, replace

from locust import events

from users.autoscaling import ProcessingTimeMixin
from users.errors import ConfigError
from users.settings import Settings
from users.sqs import (
    SQS_BACKLOG_ATTRIBUTES,
    SqsConsumerUser,
    SqsProducerUser,
    sqs_client,
)

logger = logging.getLogger(__name__)

__all__ = [
    "HIGH",
    "LOW",
    "PriorityLane",
    "ShareSplitter",
    "SqsPriorityConsumerUser",
    "SqsPriorityProducerUser",
    "first_lanes",
    "parse_weights",
]

HIGH = "high"
LOW = "low"
SERVICES = {HIGH: "SQS high", LOW: "SQS low"}
DEFAULT_HIGH_QUEUE_NAME = "msgload-high"
DEFAULT_LOW_QUEUE_NAME = "msgload-low"
DEFAULT_HIGH_PRIORITY_SHARE = 0.5
DEFAULT_PRIORITY_MODE = "strict"
DEFAULT_PRIORITY_WEIGHTS = "3:1"


@events.init_command_line_parser.add_listener
def _add_priority_arguments(parser) -> None:
    group = parser.add_argument_group("msgload priority queues (SQS)")
    option = group.add_argument
    option(
        "--high-queue-name",
        default=DEFAULT_HIGH_QUEUE_NAME,
        help="SQS queue of high priority messages, created if missing",
    )
    option(
        "--low-queue-name",
        default=DEFAULT_LOW_QUEUE_NAME,
        help="SQS queue of low priority messages, created if missing",
    )
    option(
        "--high-priority-share",
        type=float,
        default=DEFAULT_HIGH_PRIORITY_SHARE,
        help="fraction of publish calls that go to the high priority queue, 0 to 1",
    )
    option(
        "--priority-mode",
        choices=["strict", "weighted"],
        default=DEFAULT_PRIORITY_MODE,
        help="strict: poll the low queue only when the high queue returned nothing; "
        "weighted: poll the queues in the ratio of --priority-weights",
    )
    option(
        "--priority-weights",
        default=DEFAULT_PRIORITY_WEIGHTS,
        help="polls of the high queue to polls of the low queue in weighted mode, "
        "HIGH:LOW (default 3:1)",
    )


def parse_weights(text: str) -> tuple[int, int]:
    """Return (high, low) poll weights from text such as "3:1"."""
    parts = text.split(":")
    try:
        high, low = (int(part) for part in parts)
    except ValueError:
        high = low = -1
    if len(parts) != 2 or high < 1 or low < 1:
        raise ConfigError(
            f"--priority-weights must be two whole numbers of 1 or more as HIGH:LOW, "
            f"for example 3:1 (got {text!r})."
        )
    return high, low


def check_priority_options(options) -> None:
    """Raise ConfigError naming the first wrong priority option."""
    share = options.high_priority_share
    if not 0 <= share <= 1:
        raise ConfigError(
            f"--high-priority-share must be between 0 and 1 (got {share})."
        )
    if options.high_queue_name == options.low_queue_name:
        raise ConfigError(
            "--high-queue-name and --low-queue-name must name two different queues "
            f"(both are {options.high_queue_name!r})."
        )
    parse_weights(options.priority_weights)


class ShareSplitter:
    """Picks the high priority class for a share of the calls, spread evenly: with
    a share of 0.25, every fourth call."""

    def __init__(self, high_share: float) -> None:
        self.high_share = high_share
        self._credit = 0.0

    def next_priority(self) -> str:
        self._credit += self.high_share
        if self._credit >= 1:
            self._credit -= 1
            return HIGH
        return LOW


def first_lanes(mode: str, weights: str) -> Iterator[str]:
    """Return the endless sequence of the priority class a consumer polls first."""
    if mode != "weighted":
        return itertools.repeat(HIGH)
    high, low = parse_weights(weights)
    return itertools.cycle([HIGH] * high + [LOW] * low)


@dataclass
class PriorityLane:
    """One priority class: its queue (through its own copy of the settings), its
    service label and what the user learned about its queue."""

    priority: str
    service: str
    settings: Settings
    queue_url: str | None = None
    max_message_size_bytes: int | None = None


def build_lanes(settings: Settings, wait_time_s: int | None = None) -> dict:
    """Return the high and low lanes, each with settings naming its queue."""
    options = settings.options
    names = {HIGH: options.high_queue_name, LOW: options.low_queue_name}
    lanes = {}
    for priority, queue in names.items():
        changes = {"queue_name": queue}
        if wait_time_s is not None:
            changes["wait_time_s"] = wait_time_s
        lanes[priority] = PriorityLane(
            priority, SERVICES[priority], replace(settings, **changes)
        )
    return lanes


class PriorityLanesMixin:
    """Lets one SQS user work on two queues: settings, queue URL and service label
    are those of the current lane, so the SQS user's own methods send, receive and
    report for whichever queue the lane names."""

    lanes: dict[str, PriorityLane]
    lane: PriorityLane | None = None

    @classmethod
    def check_settings(cls, settings) -> None:
        check_priority_options(settings.options)

    @classmethod
    def backlog_probe(cls, settings, run):
        """Return the probe of both queues' approximate visible, in-flight and
        delayed counts, each under its lane's service label."""
        client = sqs_client(settings)
        lanes = build_lanes(settings).values()

        def probe():
            rows = []
            for lane in lanes:
                queue = lane.settings.queue_name
                url = client.get_queue_url(QueueName=queue)["QueueUrl"]
                attributes = client.get_queue_attributes(
                    QueueUrl=url, AttributeNames=list(SQS_BACKLOG_ATTRIBUTES)
                )["Attributes"]
                rows.extend(
                    (lane.service, queue, metric, int(attributes.get(name, 0)))
                    for name, metric in SQS_BACKLOG_ATTRIBUTES.items()
                )
            return rows

        queues = ",".join(lane.settings.queue_name for lane in lanes)
        return f"SQS priority {queues}", probe

    def build_lanes(self, settings: Settings) -> dict:
        return build_lanes(settings)

    @property
    def settings(self) -> Settings:
        return self.lane.settings

    @settings.setter
    def settings(self, run_settings: Settings) -> None:
        self.lanes = self.build_lanes(run_settings)
        self.lane = self.lanes[HIGH]

    @property
    def service(self) -> str:
        return self.lane.service if self.lane is not None else "SQS priority"

    @property
    def queue_url(self) -> str | None:
        return self.lane.queue_url

    @queue_url.setter
    def queue_url(self, url: str | None) -> None:
        self.lane.queue_url = url

    @property
    def max_message_size_bytes(self) -> int | None:
        return self.lane.max_message_size_bytes

    @max_message_size_bytes.setter
    def max_message_size_bytes(self, size: int | None) -> None:
        self.lane.max_message_size_bytes = size


class SqsPriorityProducerUser(PriorityLanesMixin, SqsProducerUser):
    """Sends each publish call to the high or the low queue, so that the high
    queue gets --high-priority-share of the calls, evenly spread over time."""

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        self.splitter = ShareSplitter(self.settings.options.high_priority_share)

    def publish(self) -> None:
        self.lane = self.lanes[self.splitter.next_priority()]
        super().publish()


class SqsPriorityConsumerUser(PriorityLanesMixin, ProcessingTimeMixin, SqsConsumerUser):
    """Polls the two queues by priority and spends --processing-ms per message.

    strict: a short poll of the high queue, then of the low queue only when the high
    queue returned nothing. weighted: the first queue of each poll follows the
    cycle of --priority-weights (3:1 is high, high, high, low), and the other queue
    is polled when the first returned nothing. When both returned nothing, the
    consumer long-polls the first queue for --wait-time-s, so a message that
    arrives in the other queue meanwhile waits up to that long.
    """

    abstract = True

    def on_start(self) -> None:
        super().on_start()
        options = self.run.settings.options
        self._first_lanes = first_lanes(options.priority_mode, options.priority_weights)

    def build_lanes(self, settings: Settings) -> dict:
        lanes = build_lanes(settings, wait_time_s=0)
        self._long_poll_s = settings.wait_time_s
        return lanes

    def consume(self) -> None:
        first = next(self._first_lanes)
        other = LOW if first == HIGH else HIGH
        for priority in (first, other):
            self.lane = self.lanes[priority]
            if self.consume_lane():
                return
        self.lane = self.lanes[first]
        previous = self.lane.settings
        self.lane.settings = replace(previous, wait_time_s=self._long_poll_s)
        try:
            self.consume_lane()
        finally:
            self.lane.settings = previous

    def consume_lane(self) -> bool:
        """Receive, process and delete from the current lane; return True when
        messages came back."""
        if not self.ensure_queue():
            return False
        messages = self.receive()
        if not messages:
            return False
        self.process(messages)
        self.delete(messages)
        return True
