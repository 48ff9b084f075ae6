"""SQS users against moto: failures carry the service's error code."""

import pytest
from botocore.stub import Stubber

from users import SqsConsumerUser, SqsProducerUser

pytestmark = pytest.mark.broker


class Producer(SqsProducerUser):
    pass


class Consumer(SqsConsumerUser):
    pass


def test_send_to_missing_queue_is_one_failure(local_stack, user_harness):
    harness = user_harness(
        [Producer], "--endpoint-url", local_stack.endpoint_url, "--batch-size", "1"
    )
    producer = Producer(harness.environment)
    producer.on_start()
    producer.queue_url = f"{local_stack.endpoint_url}/123456789012/no-such-queue"

    producer.publish()

    (failure,) = harness.failures("SendMessage msgload-sqs")
    assert failure["exception"].code == "AWS.SimpleQueueService.NonExistentQueue"
    assert harness.successes("SendMessage msgload-sqs") == []
    assert harness.environment.msgload.ledger.take_pending() == {}


def test_batch_with_one_failed_entry_counts_nine(local_stack, user_harness):
    harness = user_harness([Producer], "--endpoint-url", local_stack.endpoint_url)
    producer = Producer(harness.environment)
    producer.on_start()
    response = {
        "Successful": [
            {"Id": str(i), "MessageId": f"id-{i}", "MD5OfMessageBody": "0" * 32}
            for i in range(9)
        ],
        "Failed": [
            {
                "Id": "9",
                "SenderFault": False,
                "Code": "InternalError",
                "Message": "Service unavailable",
            }
        ],
    }

    with Stubber(producer.client) as stubber:
        stubber.add_response("send_message_batch", response)
        producer.publish()

    name = "SendMessageBatch msgload-sqs"
    assert len(harness.successes(name)) == 9
    (failure,) = harness.failures(name)
    assert failure["exception"].code == "InternalError"
    acked = harness.environment.msgload.ledger.take_pending()["SQS"]["acked"]
    assert acked == {producer.producer_id: [[0, 8]]}


def test_sent_messages_are_received_with_latency(local_stack, user_harness):
    queue = "test-roundtrip"
    args = ["--endpoint-url", local_stack.endpoint_url, "--queue-name", queue]
    harness = user_harness([Producer, Consumer], *args, "--wait-time-s", "1")
    producer = Producer(harness.environment)
    consumer = Consumer(harness.environment)
    producer.on_start()
    consumer.on_start()

    for _ in range(3):
        producer.publish()
    for _ in range(10):
        consumer.consume()

    ledger = harness.environment.msgload.ledger
    ledger.merge_own()
    counts = ledger.services["SQS"]
    assert counts.published == 30
    assert counts.consumed_unique == 30
    assert counts.lost == 0
    assert len(harness.successes(f"end-to-end {queue}")) == 30


def test_paced_sends_report_intended_time(local_stack, user_harness):
    queue = "test-paced"
    harness = user_harness(
        [Producer],
        *("--endpoint-url", local_stack.endpoint_url, "--queue-name", queue),
        *("--publish-rate", "100", "--batch-size", "5"),
    )
    producer = Producer(harness.environment)
    producer.on_start()

    producer.publish_task()

    intended = harness.successes(f"intended-to-ack {queue}")
    assert len(intended) == 5
    assert len(harness.successes(f"SendMessageBatch {queue}")) == 5
    assert all(event["response_time"] >= 0 for event in intended)
