"""Amazon SQS standard queues: a producer (single and batch send) and a consumer.

Every SendMessage entry is reported on its own, with the duration of the call that
carried it, so a batch with one failed entry out of ten counts nine successes and
one failure with the entry's error code.
"""

import logging
import re
import time

import boto3
from botocore.config import Config

from users.base import ConsumerUser, ProducerUser
from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import BrokerError, ConfigError
from users.timing import elapsed_ms

logger = logging.getLogger(__name__)

__all__ = ["SqsConsumerUser", "SqsProducerUser", "sqs_client"]

REQUEST_TYPE = "SQS"
MAX_RECEIVE = 10
# A load test must see throttling and errors as they happen, so botocore never
# retries on its own.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 1},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=4,
)


def sqs_client(settings):
    return boto3.client("sqs", config=CLIENT_CONFIG, **settings.boto3_options)


def message_size_bytes(entry: dict) -> int:
    """Return the size SQS checks against MaximumMessageSize: the body plus each
    message attribute's name, data type and value, in bytes."""
    size = len(entry["MessageBody"].encode())
    for name, attribute in entry.get("MessageAttributes", {}).items():
        value = attribute.get("StringValue", attribute.get("BinaryValue", b""))
        value_bytes = value.encode() if isinstance(value, str) else value
        size += len(name.encode()) + len(attribute["DataType"]) + len(value_bytes)
    return size


SQS_BACKLOG_ATTRIBUTES = {
    "ApproximateNumberOfMessages": "visible",
    "ApproximateNumberOfMessagesNotVisible": "in_flight",
    "ApproximateNumberOfMessagesDelayed": "delayed",
}


SQS_MAX_BATCH = 10
SQS_MAX_BATCH_BYTES = 1_048_576
SQS_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def check_sqs_settings(settings, queue_name: str) -> None:
    """Raise ConfigError when SQS would reject every send of these settings."""
    if not 1 <= settings.batch_size <= SQS_MAX_BATCH:
        raise ConfigError(
            f"--batch-size must be between 1 and {SQS_MAX_BATCH} for SQS "
            f"SendMessageBatch (got {settings.batch_size})."
        )
    batch_bytes = settings.batch_size * settings.message_size_bytes
    if batch_bytes > SQS_MAX_BATCH_BYTES:
        raise ConfigError(
            f"--batch-size {settings.batch_size} times --message-size-bytes "
            f"{settings.message_size_bytes} is {batch_bytes} bytes, above SQS's "
            f"{SQS_MAX_BATCH_BYTES} bytes per call; lower either of them."
        )
    base_name = queue_name.removesuffix(".fifo")
    if not SQS_QUEUE_NAME.match(base_name) or len(queue_name) > 80:
        raise ConfigError(
            f"SQS queue name {queue_name!r} is invalid: use 1 to 80 letters, digits, "
            "hyphens or underscores (FIFO queues end in .fifo)."
        )


class SqsUserMixin:
    """Finds or creates the queue of --queue-name once per user."""

    queue_url: str | None = None

    @classmethod
    def check_settings(cls, settings) -> None:
        own_name = getattr(cls, "own_queue_name", None)
        check_sqs_settings(
            settings, own_name(settings) if own_name else settings.queue_name
        )

    @classmethod
    def backlog_probe(cls, settings, run):
        """Return the probe of the queue's approximate visible, in-flight and
        delayed counts."""
        client = sqs_client(settings)
        queue = settings.queue_name

        def probe():
            url = client.get_queue_url(QueueName=queue)["QueueUrl"]
            attributes = client.get_queue_attributes(
                QueueUrl=url, AttributeNames=list(SQS_BACKLOG_ATTRIBUTES)
            )["Attributes"]
            return [
                (cls.service, queue, metric, int(attributes.get(name, 0)))
                for name, metric in SQS_BACKLOG_ATTRIBUTES.items()
            ]

        return f"{cls.service} {queue}", probe

    def queue_attributes(self) -> dict[str, str]:
        return {}

    def ensure_queue(self) -> bool:
        if self.queue_url is not None:
            return True
        name = self.settings.queue_name
        started = time.perf_counter()
        try:
            response = self.client.create_queue(
                QueueName=name, Attributes=self.queue_attributes()
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(f"CreateQueue {name}", error)
            self.wait_after_failure()
            return False
        self.report(f"CreateQueue {name}", elapsed_ms(started))
        self.queue_url = response["QueueUrl"]
        return True


class SqsProducerUser(SqsUserMixin, ProducerUser):
    """Sends stamped messages with SendMessage, or SendMessageBatch when
    --batch-size is above 1.

    Publish latency runs from the call to the HTTP response. The stamp travels in
    the message attribute "msgload".
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"

    def on_start(self) -> None:
        super().on_start()
        self.client = sqs_client(self.settings)
        self.max_message_size_bytes: int | None = None
        if self.ensure_queue():
            self.queue_max_message_size_bytes()

    def message_entry(self, index: int, stamp: Stamp) -> dict:
        body = padded_payload(self.settings.message_size_bytes).decode()
        attribute = {"DataType": "String", "StringValue": stamp.encode()}
        return {
            "Id": str(index),
            "MessageBody": body,
            "MessageAttributes": {STAMP_ATTRIBUTE: attribute},
        }

    def publish(self) -> None:
        if not self.ensure_queue():
            return
        stamps = [self.next_stamp() for _ in range(self.settings.batch_size)]
        entries = [self.message_entry(i, stamp) for i, stamp in enumerate(stamps)]
        entries, stamps = self.within_size_limit(entries, stamps)
        if not entries:
            return
        if self.settings.batch_size == 1:
            self.send_one(entries[0], stamps[0])
        else:
            self.send_batch(entries, stamps)

    def within_size_limit(
        self, entries: list[dict], stamps: list[Stamp]
    ) -> tuple[list[dict], list[Stamp]]:
        """Return the entries that fit the queue's MaximumMessageSize, with their
        stamps; report each other entry as a MessageTooLong failure, unsent."""
        limit = self.queue_max_message_size_bytes()
        if limit is None:
            return entries, stamps
        queue = self.settings.queue_name
        operation = (
            "SendMessage" if self.settings.batch_size == 1 else "SendMessageBatch"
        )
        kept = []
        for entry, stamp in zip(entries, stamps, strict=True):
            size = message_size_bytes(entry)
            if size <= limit:
                kept.append((entry, stamp))
                continue
            error = BrokerError(
                "MessageTooLong",
                f"{size} bytes > MaximumMessageSize {limit} bytes of queue {queue}; "
                "lower --message-size-bytes or raise the queue's MaximumMessageSize",
            )
            self.report_failure(f"{operation} {queue}", error)
        return [entry for entry, _ in kept], [stamp for _, stamp in kept]

    def queue_max_message_size_bytes(self) -> int | None:
        """Return the queue's MaximumMessageSize, read once per user; None until a
        GetQueueAttributes call succeeds."""
        if self.max_message_size_bytes is not None:
            return self.max_message_size_bytes
        name = f"GetQueueAttributes {self.settings.queue_name}"
        started = time.perf_counter()
        try:
            response = self.client.get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["MaximumMessageSize"]
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            return None
        self.report(name, elapsed_ms(started))
        limit = response["Attributes"]["MaximumMessageSize"]
        self.max_message_size_bytes = int(limit)
        return self.max_message_size_bytes

    def send_one(self, entry: dict, stamp: Stamp) -> None:
        name = f"SendMessage {self.settings.queue_name}"
        size = len(entry["MessageBody"])
        started = time.perf_counter()
        start_time = time.time()
        try:
            self.client.send_message(
                QueueUrl=self.queue_url,
                **{key: value for key, value in entry.items() if key != "Id"},
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            return
        self.report(name, elapsed_ms(started), size, start_time_s=start_time)
        self.acked(stamp, self.settings.queue_name)

    def send_batch(self, entries: list[dict], stamps: list[Stamp]) -> None:
        name = f"SendMessageBatch {self.settings.queue_name}"
        started = time.perf_counter()
        start_time = time.time()
        try:
            response = self.client.send_message_batch(
                QueueUrl=self.queue_url, Entries=entries
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error, count=len(entries))
            return
        took_ms = elapsed_ms(started)
        sent = (entries, stamps)
        self.report_batch_response(
            name, sent, response, took_ms, start_time, body_key="MessageBody"
        )


class SqsConsumerUser(SqsUserMixin, ConsumerUser):
    """Long-polls with ReceiveMessage and deletes what it received in one batch.

    Receives that return no message are reported as "ReceiveMessage (empty)", apart
    from receives that returned messages.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"
    order_by_group = False

    def on_start(self) -> None:
        super().on_start()
        self.client = sqs_client(self.settings)
        self.ensure_queue()

    def consume(self) -> None:
        if not self.ensure_queue():
            return
        messages = self.receive()
        if messages:
            self.delete(messages)

    def receive(self) -> list[dict]:
        queue = self.settings.queue_name
        started = time.perf_counter()
        try:
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=MAX_RECEIVE,
                WaitTimeSeconds=self.settings.wait_time_s,
                VisibilityTimeout=self.settings.visibility_timeout_s,
                MessageAttributeNames=[STAMP_ATTRIBUTE],
                MessageSystemAttributeNames=["MessageGroupId"],
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(f"ReceiveMessage {queue}", error)
            self.wait_after_failure()
            return []
        took_ms = elapsed_ms(started)
        messages = response.get("Messages", [])
        if not messages:
            self.report(f"ReceiveMessage (empty) {queue}", took_ms)
            return []
        size = sum(len(message.get("Body", "")) for message in messages)
        self.report(f"ReceiveMessage {queue}", took_ms, size)
        for message in messages:
            self.consumed(self.stamp_of(message), queue, self.order_key(message))
        return messages

    def stamp_of(self, message: dict) -> Stamp | None:
        attribute = message.get("MessageAttributes", {}).get(STAMP_ATTRIBUTE)
        return None if attribute is None else Stamp.decode(attribute["StringValue"])

    def order_key(self, message: dict):
        if not self.order_by_group:
            return None
        return message.get("Attributes", {}).get("MessageGroupId")

    def delete(self, messages: list[dict]) -> None:
        name = f"DeleteMessageBatch {self.settings.queue_name}"
        entries = [
            {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
            for i, message in enumerate(messages)
        ]
        started = time.perf_counter()
        try:
            response = self.client.delete_message_batch(
                QueueUrl=self.queue_url, Entries=entries
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            return
        took_ms = elapsed_ms(started)
        self.report(name, took_ms)
        self.report_failed_entries(name, response.get("Failed", []), took_ms)
