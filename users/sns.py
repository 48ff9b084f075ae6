"""Amazon SNS: a producer (Publish and PublishBatch) and a consumer of its SQS fan-out.

The first user of a process sets up the fan-out: the topic --sns-topic, the queue
--sns-queue-name with a policy that lets the topic send to it, and a subscription
with raw message delivery. Every call is idempotent, so users on many workers can
all run it. End-to-end latency runs from the stamp taken before Publish to the
moment the consumer of the subscription queue has the message in hand. It is
reported under the service "SNS".

With raw delivery, SNS passes the message attributes on as SQS message attributes,
so the stamp travels in the attribute "msgload" all the way (moto 5 does the same).
"""

import json
import logging
import time

import boto3
import locust

from users.base import ProducerUser
from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import ConfigError
from users.sqs import CLIENT_CONFIG, SqsConsumerUser, sqs_client
from users.sqs_fifo import OwnQueueMixin, ThrottlingApartMixin
from users.timing import elapsed_ms

logger = logging.getLogger(__name__)

__all__ = ["SnsProducerUser", "SnsSqsConsumerUser", "ensure_fan_out"]

REQUEST_TYPE = "SNS"
SNS_MAX_BATCH = 10
DEFAULT_SNS_TOPIC = "msgload-sns"
DEFAULT_SNS_QUEUE_NAME = "msgload-sns-sub"
MAX_PUBLISH_BYTES = 262_144
# An upper bound on the stamp attribute: its name, data type and value.
STAMP_ATTRIBUTE_MAX_BYTES = 100
_fan_outs: dict[tuple, tuple[str, str]] = {}


@locust.events.init_command_line_parser.add_listener
def _add_arguments(parser) -> None:
    parser.add_argument(
        "--sns-topic",
        default=DEFAULT_SNS_TOPIC,
        help="SNS topic, created if missing",
    )
    parser.add_argument(
        "--sns-queue-name",
        default=DEFAULT_SNS_QUEUE_NAME,
        help="SQS queue subscribed to --sns-topic with raw message delivery, "
        "created if missing; the SNS consumers read it",
    )


def sns_client(settings):
    return boto3.client("sns", config=CLIENT_CONFIG, **settings.boto3_options)


def topic_name(settings) -> str:
    return getattr(settings.options, "sns_topic", DEFAULT_SNS_TOPIC)


def subscription_queue_name(settings) -> str:
    return getattr(settings.options, "sns_queue_name", DEFAULT_SNS_QUEUE_NAME)


def fan_out_key(settings) -> tuple:
    return (
        settings.endpoint_url,
        settings.region,
        topic_name(settings),
        subscription_queue_name(settings),
    )


def queue_policy(queue_arn: str, topic_arn: str) -> str:
    """Return a queue policy that lets only topic_arn send messages to the queue."""
    statement = {
        "Sid": "msgload-sns-fan-out",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def ensure_fan_out(settings) -> tuple[str, str]:
    """Create the topic, the queue, its policy and a raw-delivery subscription once
    per process; return the topic ARN and the queue URL."""
    topic = topic_name(settings)
    queue = subscription_queue_name(settings)
    key = fan_out_key(settings)
    if key in _fan_outs:
        return _fan_outs[key]
    sns = sns_client(settings)
    sqs = sqs_client(settings)
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": queue_policy(queue_arn, topic_arn)}
    )
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
        ReturnSubscriptionArn=True,
    )
    logger.info("Subscribed queue %s to topic %s with raw delivery", queue, topic)
    _fan_outs[key] = (topic_arn, queue_url)
    return topic_arn, queue_url


class SnsFanOutMixin:
    """Sets up the fan-out before the first publish or receive of the process,
    reporting "Subscribe <topic>" with the time of all the set-up calls."""

    topic_arn: str | None = None

    @classmethod
    def check_settings(cls, settings) -> None:
        if settings.batch_size > SNS_MAX_BATCH:
            raise ConfigError(
                f"--batch-size must be at most {SNS_MAX_BATCH} for SNS PublishBatch "
                f"(got {settings.batch_size})."
            )
        largest = settings.batch_size * (
            settings.message_size_bytes + STAMP_ATTRIBUTE_MAX_BYTES
        )
        if largest > MAX_PUBLISH_BYTES:
            raise ConfigError(
                f"--message-size-bytes {settings.message_size_bytes} times "
                f"--batch-size {settings.batch_size} is above SNS's "
                f"{MAX_PUBLISH_BYTES} bytes per publish call, stamps included; "
                "lower either of them."
            )

    def ensure_fan_out(self) -> bool:
        if self.topic_arn is not None:
            return True
        known = _fan_outs.get(fan_out_key(self.settings))
        if known is not None:
            self.topic_arn = known[0]
            return True
        name = f"Subscribe {topic_name(self.settings)}"
        started = time.perf_counter()
        try:
            self.topic_arn, _ = ensure_fan_out(self.settings)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            self.wait_after_failure()
            return False
        self.report(name, elapsed_ms(started))
        return True


class SnsProducerUser(ThrottlingApartMixin, SnsFanOutMixin, ProducerUser):
    """Publishes stamped messages to --sns-topic with Publish, or PublishBatch when
    --batch-size is above 1.

    Publish latency runs from the call to the HTTP response. A PublishBatch entry
    that failed is one failure with its error code; the others count as sent.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"

    def on_start(self) -> None:
        super().on_start()
        self.client = sns_client(self.settings)
        self.topic = topic_name(self.settings)
        self.ensure_fan_out()

    def message_entry(self, index: int, stamp: Stamp) -> dict:
        attribute = {"DataType": "String", "StringValue": stamp.encode()}
        return {
            "Id": str(index),
            "Message": padded_payload(self.settings.message_size_bytes).decode(),
            "MessageAttributes": {STAMP_ATTRIBUTE: attribute},
        }

    def publish(self) -> None:
        if not self.ensure_fan_out():
            return
        stamps = [self.next_stamp() for _ in range(self.settings.batch_size)]
        entries = [self.message_entry(i, stamp) for i, stamp in enumerate(stamps)]
        if self.settings.batch_size == 1:
            self.publish_one(entries[0], stamps[0])
        else:
            self.publish_batch(entries, stamps)

    def publish_one(self, entry: dict, stamp: Stamp) -> None:
        name = f"Publish {self.topic}"
        started = time.perf_counter()
        start_time = time.time()
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Message=entry["Message"],
                MessageAttributes=entry["MessageAttributes"],
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            return
        size = len(entry["Message"])
        self.report(name, elapsed_ms(started), size, start_time_s=start_time)
        self.acked(stamp, self.topic)

    def publish_batch(self, entries: list[dict], stamps: list[Stamp]) -> None:
        name = f"PublishBatch {self.topic}"
        started = time.perf_counter()
        start_time = time.time()
        try:
            response = self.client.publish_batch(
                TopicArn=self.topic_arn, PublishBatchRequestEntries=entries
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error, count=len(entries))
            return
        took_ms = elapsed_ms(started)
        sent = (entries, stamps)
        self.report_batch_response(
            name, sent, response, took_ms, start_time, body_key="Message"
        )


class SnsSqsConsumerUser(
    ThrottlingApartMixin, SnsFanOutMixin, OwnQueueMixin, SqsConsumerUser
):
    """Long-polls the subscription queue --sns-queue-name and reports each
    message's end-to-end latency under the service "SNS"."""

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"

    @classmethod
    def own_queue_name(cls, settings) -> str:
        return subscription_queue_name(settings)

    def on_start(self) -> None:
        super().on_start()
        self.ensure_fan_out()

    def consume(self) -> None:
        if not self.ensure_fan_out():
            return
        super().consume()
