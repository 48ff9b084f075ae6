"""SQS FIFO users against moto: groups, deduplication, order and throttling."""

from collections import Counter

import boto3
import pytest
from botocore.stub import Stubber

from users import ConfigError, SqsFifoConsumerUser, SqsFifoProducerUser

pytestmark = pytest.mark.broker


class Producer(SqsFifoProducerUser):
    pass


class Consumer(SqsFifoConsumerUser):
    pass


def fifo_args(local_stack, queue: str, *extra: str) -> list[str]:
    return [
        *("--endpoint-url", local_stack.endpoint_url, "--fifo-queue-name", queue),
        *("--wait-time-s", "1", *extra),
    ]


def sqs(endpoint_url: str):
    return boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def queue_url_of(local_stack, queue: str) -> str:
    return sqs(local_stack.endpoint_url).get_queue_url(QueueName=queue)["QueueUrl"]


def consume_until(harness, consumer, target: str, count: int) -> None:
    for _ in range(30):
        if len(harness.successes(f"end-to-end {target}")) >= count:
            return
        consumer.consume()


def round_trip(harness, queue: str, publishes: int):
    producer = Producer(harness.environment)
    consumer = Consumer(harness.environment)
    producer.on_start()
    consumer.on_start()
    for _ in range(publishes):
        producer.publish()
    consume_until(harness, consumer, queue, publishes * 10)
    ledger = harness.environment.msgload.ledger
    ledger.merge_own()
    return ledger.services["SQS FIFO"]


def test_fifo_round_trip_keeps_group_order(local_stack, user_harness):
    queue = "test-fifo-order.fifo"
    args = fifo_args(local_stack, queue, "--fifo-groups", "3")
    harness = user_harness([Producer, Consumer], *args)

    counts = round_trip(harness, queue, publishes=5)

    assert counts.published == 50
    assert counts.consumed_unique == 50
    assert counts.duplicates == 0
    assert counts.out_of_order == 0
    assert counts.lost == 0
    assert len(harness.successes(f"end-to-end {queue}")) == 50


def test_producer_spreads_groups_round_robin(local_stack, user_harness):
    queue = "test-fifo-groups.fifo"
    args = fifo_args(local_stack, queue, "--fifo-groups", "3", "--batch-size", "6")
    harness = user_harness([Producer], *args)
    producer = Producer(harness.environment)
    producer.on_start()

    producer.publish()

    messages = sqs(local_stack.endpoint_url).receive_message(
        QueueUrl=producer.queue_url,
        MaxNumberOfMessages=10,
        MessageSystemAttributeNames=["MessageGroupId"],
    )["Messages"]
    groups = Counter(message["Attributes"]["MessageGroupId"] for message in messages)
    assert groups == {"group-0": 2, "group-1": 2, "group-2": 2}


def test_content_dedup_sets_queue_attribute(local_stack, user_harness):
    queue = "test-fifo-content.fifo"
    harness = user_harness([Producer], *fifo_args(local_stack, queue))
    producer = Producer(harness.environment)
    producer.on_start()

    attributes = sqs(local_stack.endpoint_url).get_queue_attributes(
        QueueUrl=producer.queue_url, AttributeNames=["All"]
    )["Attributes"]

    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "true"
    assert attributes.get("DeduplicationScope", "queue") == "queue"


def test_explicit_dedup_round_trip(local_stack, user_harness):
    queue = "test-fifo-explicit.fifo"
    args = fifo_args(local_stack, queue, "--fifo-dedup", "explicit")
    harness = user_harness([Producer, Consumer], *args)

    counts = round_trip(harness, queue, publishes=3)

    attributes = sqs(local_stack.endpoint_url).get_queue_attributes(
        QueueUrl=queue_url_of(local_stack, queue),
        AttributeNames=["ContentBasedDeduplication"],
    )["Attributes"]
    assert attributes["ContentBasedDeduplication"] == "false"
    assert counts.published == 30
    assert counts.consumed_unique == 30
    assert counts.duplicates == 0
    assert counts.lost == 0


def test_explicit_dedup_id_comes_from_stamp(local_stack, user_harness):
    queue = "test-fifo-explicit-id.fifo"
    args = fifo_args(local_stack, queue, "--fifo-dedup", "explicit")
    harness = user_harness([Producer], *args)
    producer = Producer(harness.environment)
    producer.on_start()
    stamp = producer.next_stamp()

    entry = producer.message_entry(0, stamp)

    expected = f"{stamp.run_id}-{producer.producer_id}-{stamp.seq}"
    assert entry["MessageDeduplicationId"] == expected
    assert entry["MessageBody"].startswith("msgload1 ")


def test_high_throughput_sets_per_group_limits(local_stack, user_harness):
    queue = "test-fifo-high.fifo"
    args = fifo_args(local_stack, queue, "--fifo-high-throughput")
    harness = user_harness([Producer], *args)
    producer = Producer(harness.environment)
    producer.on_start()

    attributes = sqs(local_stack.endpoint_url).get_queue_attributes(
        QueueUrl=producer.queue_url, AttributeNames=["All"]
    )["Attributes"]

    assert attributes["DeduplicationScope"] == "messageGroup"
    assert attributes["FifoThroughputLimit"] == "perMessageGroupId"


def test_queue_name_without_fifo_suffix_rejected(local_stack, user_harness):
    with pytest.raises(ConfigError, match="must end in .fifo"):
        user_harness([Producer], *fifo_args(local_stack, "test-plain"))


def test_zero_groups_rejected(local_stack, user_harness):
    args = fifo_args(local_stack, "test-zero.fifo", "--fifo-groups", "0")
    with pytest.raises(ConfigError, match="--fifo-groups must be 1 or more"):
        user_harness([Producer], *args)


def batch_response(failed_code: str) -> dict:
    """Return a SendMessageBatch response with entry 9 failed with failed_code."""
    return {
        "Successful": [
            {"Id": str(i), "MessageId": f"id-{i}", "MD5OfMessageBody": "0" * 32}
            for i in range(9)
        ],
        "Failed": [
            {
                "Id": "9",
                "SenderFault": False,
                "Code": failed_code,
                "Message": "Request is throttled",
            }
        ],
    }


def test_batch_with_one_failed_entry_counts_nine(local_stack, user_harness):
    queue = "test-fifo-stub.fifo"
    harness = user_harness([Producer], *fifo_args(local_stack, queue))
    producer = Producer(harness.environment)
    producer.on_start()

    with Stubber(producer.client) as stubber:
        stubber.add_response("send_message_batch", batch_response("InternalError"))
        producer.publish()

    name = f"SendMessageBatch {queue}"
    assert len(harness.successes(name)) == 9
    (failure,) = harness.failures(name)
    assert failure["exception"].code == "InternalError"
    acked = harness.environment.msgload.ledger.take_pending()["SQS FIFO"]["acked"]
    assert acked == {producer.producer_id: [[0, 8]]}


def test_throttled_entry_reported_apart(local_stack, user_harness):
    queue = "test-fifo-throttled-entry.fifo"
    harness = user_harness([Producer], *fifo_args(local_stack, queue))
    producer = Producer(harness.environment)
    producer.on_start()

    with Stubber(producer.client) as stubber:
        stubber.add_response("send_message_batch", batch_response("RequestThrottled"))
        producer.publish()

    name = f"SendMessageBatch {queue}"
    assert len(harness.successes(name)) == 9
    assert harness.failures(name) == []
    (throttled,) = harness.failures(f"Throttled {name}")
    assert throttled["exception"].code == "RequestThrottled"


def test_throttled_call_fails_every_entry_apart(local_stack, user_harness):
    queue = "test-fifo-throttled-call.fifo"
    harness = user_harness([Producer], *fifo_args(local_stack, queue))
    producer = Producer(harness.environment)
    producer.on_start()

    with Stubber(producer.client) as stubber:
        stubber.add_client_error(
            "send_message_batch",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )
        producer.publish()

    name = f"SendMessageBatch {queue}"
    throttled = harness.failures(f"Throttled {name}")
    assert len(throttled) == 10
    assert {t["exception"].code for t in throttled} == {"ThrottlingException"}
    assert harness.successes(name) == []
    assert harness.failures(name) == []
    assert harness.environment.msgload.ledger.take_pending() == {}
