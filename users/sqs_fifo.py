"""Amazon SQS FIFO queues: producers over message groups, order-checking consumers.

The producer spreads its messages over --fifo-groups message groups, round robin,
and the consumer checks order per message group. The body starts with the stamp,
so with content-based deduplication no two messages have the same body.

Throttled calls and entries (error codes such as ThrottlingException or
RequestThrottled) are reported under their own stats entry, "Throttled <Operation>
<queue>", so their times never mix with the latency of accepted messages.
"""

import dataclasses
import logging

import locust

from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import BatchEntryError, ConfigError, translate
from users.sqs import SqsConsumerUser, SqsProducerUser

logger = logging.getLogger(__name__)

__all__ = [
    "OwnQueueMixin",
    "SqsFifoConsumerUser",
    "SqsFifoProducerUser",
    "ThrottlingApartMixin",
    "is_throttling",
]

REQUEST_TYPE = "SQS FIFO"
DEFAULT_FIFO_QUEUE_NAME = "msgload-sqs.fifo"
DEFAULT_FIFO_GROUPS = 4
DEFAULT_FIFO_DEDUP = "content"
FIFO_SUFFIX = ".fifo"
# Error codes for throttling in botocore 1.44's service models: SQS
# ThrottlingException and RequestThrottled, SNS Throttled, Kinesis
# ProvisionedThroughputExceededException.
THROTTLING_MARKERS = ("Throttl", "ProvisionedThroughputExceeded")


@locust.events.init_command_line_parser.add_listener
def _add_arguments(parser) -> None:
    parser.add_argument(
        "--fifo-queue-name",
        default=DEFAULT_FIFO_QUEUE_NAME,
        help="SQS FIFO queue, created if missing; the name must end in .fifo",
    )
    parser.add_argument(
        "--fifo-groups",
        type=int,
        default=DEFAULT_FIFO_GROUPS,
        help="message groups each SQS FIFO producer spreads its messages over, "
        "round robin",
    )
    parser.add_argument(
        "--fifo-dedup",
        choices=["content", "explicit"],
        default=DEFAULT_FIFO_DEDUP,
        help="SQS FIFO deduplication: content (the queue's ContentBasedDeduplication)"
        " or explicit (a MessageDeduplicationId made from the stamp)",
    )
    parser.add_argument(
        "--fifo-high-throughput",
        action="store_true",
        default=False,
        help="create the SQS FIFO queue in high-throughput mode (deduplication and "
        "throughput limit per message group)",
    )


def is_throttling(code: str) -> bool:
    """Return True when code is an AWS error code for throttling."""
    return any(marker in code for marker in THROTTLING_MARKERS)


class ThrottlingApartMixin:
    """Reports throttled calls and entries as "Throttled <name>", apart from the
    latency of the calls and entries the service accepted."""

    def report_failure(self, name: str, error: BaseException, count: int = 1) -> None:
        failure = translate(error)
        if is_throttling(failure.code):
            name = f"Throttled {name}"
        super().report_failure(name, failure, count)

    def report_failed_entries(
        self, name: str, failed: list[dict], response_time_ms: float
    ) -> None:
        for entry in failed:
            code = entry.get("Code", "Unknown")
            error = BatchEntryError(code, entry.get("Message", ""))
            entry_name = f"Throttled {name}" if is_throttling(code) else name
            self.report(entry_name, response_time_ms, 0, exception=error)


class OwnQueueMixin:
    """Gives an SQS user its own queue: settings.queue_name becomes the name that
    own_queue_name(settings) returns, so the SQS code it reuses works on that
    queue."""

    @classmethod
    def own_queue_name(cls, settings) -> str:
        raise NotImplementedError

    @classmethod
    def own_settings(cls, settings):
        return dataclasses.replace(settings, queue_name=cls.own_queue_name(settings))

    @property
    def settings(self):
        return self._settings

    @settings.setter
    def settings(self, value) -> None:
        self._settings = self.own_settings(value)

    @classmethod
    def backlog_probe(cls, settings, run):
        return super().backlog_probe(cls.own_settings(settings), run)


class FifoQueueMixin(OwnQueueMixin):
    """The queue options, their check and the queue attributes FIFO users share."""

    @classmethod
    def own_queue_name(cls, settings) -> str:
        return getattr(settings.options, "fifo_queue_name", DEFAULT_FIFO_QUEUE_NAME)

    @classmethod
    def check_settings(cls, settings) -> None:
        name = cls.own_queue_name(settings)
        if not name.endswith(FIFO_SUFFIX):
            raise ConfigError(
                f"--fifo-queue-name must end in .fifo (got {name!r}); for example "
                f"--fifo-queue-name {name}{FIFO_SUFFIX}."
            )
        groups = getattr(settings.options, "fifo_groups", DEFAULT_FIFO_GROUPS)
        if groups < 1:
            raise ConfigError(f"--fifo-groups must be 1 or more (got {groups}).")
        super().check_settings(settings)

    def queue_attributes(self) -> dict[str, str]:
        options = self.settings.options
        dedup = getattr(options, "fifo_dedup", DEFAULT_FIFO_DEDUP)
        attributes = {
            "FifoQueue": "true",
            "ContentBasedDeduplication": "true" if dedup == "content" else "false",
        }
        if getattr(options, "fifo_high_throughput", False):
            attributes["DeduplicationScope"] = "messageGroup"
            attributes["FifoThroughputLimit"] = "perMessageGroupId"
        return attributes


class SqsFifoProducerUser(ThrottlingApartMixin, FifoQueueMixin, SqsProducerUser):
    """Sends stamped messages to --fifo-queue-name over --fifo-groups message groups.

    Message i of a producer goes to group "group-<i mod groups>". With
    --fifo-dedup explicit, the MessageDeduplicationId is the stamp's run, producer
    and sequence number.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"

    def message_entry(self, index: int, stamp: Stamp) -> dict:
        options = self.settings.options
        groups = getattr(options, "fifo_groups", DEFAULT_FIFO_GROUPS)
        body = padded_payload(self.settings.message_size_bytes, stamp).decode()
        attribute = {"DataType": "String", "StringValue": stamp.encode()}
        entry = {
            "Id": str(index),
            "MessageBody": body,
            "MessageAttributes": {STAMP_ATTRIBUTE: attribute},
            "MessageGroupId": f"group-{stamp.seq % groups}",
        }
        if getattr(options, "fifo_dedup", DEFAULT_FIFO_DEDUP) == "explicit":
            entry["MessageDeduplicationId"] = deduplication_id(stamp)
        return entry


def deduplication_id(stamp: Stamp) -> str:
    """Return an id unique to the message: its run, producer and sequence number."""
    return f"{stamp.run_id}-{stamp.producer_id}-{stamp.seq}"


class SqsFifoConsumerUser(ThrottlingApartMixin, FifoQueueMixin, SqsConsumerUser):
    """Receives from --fifo-queue-name and checks order per message group.

    SQS hands out a group's next messages only after the ones in flight are
    deleted, so several consumers keep each group in order.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"
    order_by_group = True
