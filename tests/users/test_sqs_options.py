"""SQS standard options against moto: the queue's MaximumMessageSize."""

import boto3
import pytest

from users import SqsProducerUser

pytestmark = pytest.mark.broker


class Producer(SqsProducerUser):
    pass


def small_queue(endpoint_url: str, name: str, max_bytes: int) -> str:
    """Create queue name with MaximumMessageSize max_bytes; return its URL."""
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    attributes = {"MaximumMessageSize": str(max_bytes)}
    return client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def visible_messages(endpoint_url: str, queue_url: str) -> int:
    client = boto3.client(
        "sqs",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    attributes = client.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_message_over_max_size_fails_unsent(local_stack, user_harness):
    queue = "test-max-size-one"
    queue_url = small_queue(local_stack.endpoint_url, queue, 1024)
    harness = user_harness(
        [Producer],
        *("--endpoint-url", local_stack.endpoint_url, "--queue-name", queue),
        *("--message-size-bytes", "2000", "--batch-size", "1"),
    )
    producer = Producer(harness.environment)
    producer.on_start()

    producer.publish()

    (failure,) = harness.failures(f"SendMessage {queue}")
    assert failure["exception"].code == "MessageTooLong"
    assert "MaximumMessageSize 1024 bytes" in str(failure["exception"])
    assert harness.successes(f"SendMessage {queue}") == []
    assert visible_messages(local_stack.endpoint_url, queue_url) == 0
    assert harness.environment.msgload.ledger.take_pending() == {}


def test_batch_over_max_size_fails_each_entry(local_stack, user_harness):
    queue = "test-max-size-batch"
    queue_url = small_queue(local_stack.endpoint_url, queue, 1024)
    harness = user_harness(
        [Producer],
        *("--endpoint-url", local_stack.endpoint_url, "--queue-name", queue),
        *("--message-size-bytes", "2000", "--batch-size", "10"),
    )
    producer = Producer(harness.environment)
    producer.on_start()

    producer.publish()

    failures = harness.failures(f"SendMessageBatch {queue}")
    assert len(failures) == 10
    assert {f["exception"].code for f in failures} == {"MessageTooLong"}
    assert visible_messages(local_stack.endpoint_url, queue_url) == 0


def test_message_under_max_size_is_sent(local_stack, user_harness):
    queue = "test-max-size-fits"
    queue_url = small_queue(local_stack.endpoint_url, queue, 1024)
    harness = user_harness(
        [Producer],
        *("--endpoint-url", local_stack.endpoint_url, "--queue-name", queue),
        *("--message-size-bytes", "500", "--batch-size", "1"),
    )
    producer = Producer(harness.environment)
    producer.on_start()

    producer.publish()
    producer.publish()

    assert len(harness.successes(f"SendMessage {queue}")) == 2
    assert harness.failures(f"SendMessage {queue}") == []
    assert visible_messages(local_stack.endpoint_url, queue_url) == 2


def test_max_size_is_read_once_per_user(local_stack, user_harness):
    queue = "test-max-size-once"
    small_queue(local_stack.endpoint_url, queue, 4096)
    harness = user_harness(
        [Producer],
        *("--endpoint-url", local_stack.endpoint_url, "--queue-name", queue),
    )
    producer = Producer(harness.environment)
    producer.on_start()

    for _ in range(3):
        producer.publish()

    assert len(harness.successes(f"GetQueueAttributes {queue}")) == 1
    assert producer.max_message_size_bytes == 4096
    assert len(harness.successes(f"SendMessageBatch {queue}")) == 30
