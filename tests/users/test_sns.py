"""SNS users against moto: fan-out to SQS with raw delivery, and batch failures."""

import json

import boto3
import pytest
from botocore.stub import Stubber

from users import ConfigError, SnsProducerUser, SnsSqsConsumerUser

pytestmark = pytest.mark.broker


class Producer(SnsProducerUser):
    pass


class Consumer(SnsSqsConsumerUser):
    pass


def sns_args(local_stack, topic: str, *extra: str) -> list[str]:
    return [
        *("--endpoint-url", local_stack.endpoint_url, "--sns-topic", topic),
        *("--sns-queue-name", f"{topic}-sub", "--wait-time-s", "1", *extra),
    ]


def client(service: str, endpoint_url: str):
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def round_trip(harness, queue: str, publishes: int, per_publish: int):
    producer = Producer(harness.environment)
    consumer = Consumer(harness.environment)
    producer.on_start()
    consumer.on_start()
    for _ in range(publishes):
        producer.publish()
    expected = publishes * per_publish
    for _ in range(30):
        if len(harness.successes(f"end-to-end {queue}")) >= expected:
            break
        consumer.consume()
    ledger = harness.environment.msgload.ledger
    ledger.merge_own()
    return ledger.services["SNS"]


def test_publish_batch_reaches_subscription_queue(local_stack, user_harness):
    topic = "test-sns-batch"
    harness = user_harness([Producer, Consumer], *sns_args(local_stack, topic))

    counts = round_trip(harness, f"{topic}-sub", publishes=3, per_publish=10)

    assert len(harness.successes(f"PublishBatch {topic}")) == 30
    assert counts.published == 30
    assert counts.consumed_unique == 30
    assert counts.duplicates == 0
    assert counts.lost == 0
    assert len(harness.successes(f"end-to-end {topic}-sub")) == 30


def test_single_publish_reaches_subscription_queue(local_stack, user_harness):
    topic = "test-sns-single"
    args = sns_args(local_stack, topic, "--batch-size", "1")
    harness = user_harness([Producer, Consumer], *args)

    counts = round_trip(harness, f"{topic}-sub", publishes=5, per_publish=1)

    assert len(harness.successes(f"Publish {topic}")) == 5
    assert counts.published == 5
    assert counts.consumed_unique == 5
    assert counts.lost == 0


def test_fan_out_uses_raw_delivery_and_policy(local_stack, user_harness):
    topic = "test-sns-setup"
    harness = user_harness([Producer], *sns_args(local_stack, topic))
    producer = Producer(harness.environment)
    producer.on_start()
    sns = client("sns", local_stack.endpoint_url)
    sqs = client("sqs", local_stack.endpoint_url)

    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=producer.topic_arn)[
        "Subscriptions"
    ]
    attributes = sns.get_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"]
    )["Attributes"]
    queue_url = sqs.get_queue_url(QueueName=f"{topic}-sub")["QueueUrl"]
    policy = json.loads(
        sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])[
            "Attributes"
        ]["Policy"]
    )

    assert subscription["Protocol"] == "sqs"
    assert attributes["RawMessageDelivery"] == "true"
    (statement,) = policy["Statement"]
    assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] == producer.topic_arn
    assert len(harness.successes(f"Subscribe {topic}")) == 1


def test_stamp_travels_as_message_attribute(local_stack, user_harness):
    topic = "test-sns-attribute"
    harness = user_harness([Producer], *sns_args(local_stack, topic))
    producer = Producer(harness.environment)
    producer.on_start()
    sqs = client("sqs", local_stack.endpoint_url)
    queue_url = sqs.get_queue_url(QueueName=f"{topic}-sub")["QueueUrl"]

    producer.publish()

    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    stamps = [m["MessageAttributes"]["msgload"]["StringValue"] for m in messages]
    assert len(stamps) == 10
    assert all(stamp.split(" ")[1] == producer.producer_id for stamp in stamps)


def test_batch_with_one_failed_entry_counts_nine(local_stack, user_harness):
    topic = "test-sns-stub"
    harness = user_harness([Producer], *sns_args(local_stack, topic))
    producer = Producer(harness.environment)
    producer.on_start()
    response = {
        "Successful": [{"Id": str(i), "MessageId": f"id-{i}"} for i in range(9)],
        "Failed": [
            {
                "Id": "9",
                "Code": "InternalError",
                "Message": "Internal error",
                "SenderFault": False,
            }
        ],
    }

    with Stubber(producer.client) as stubber:
        stubber.add_response("publish_batch", response)
        producer.publish()

    name = f"PublishBatch {topic}"
    assert len(harness.successes(name)) == 9
    (failure,) = harness.failures(name)
    assert failure["exception"].code == "InternalError"
    acked = harness.environment.msgload.ledger.take_pending()["SNS"]["acked"]
    assert acked == {producer.producer_id: [[0, 8]]}


def test_batch_over_publish_limit_rejected(local_stack, user_harness):
    args = sns_args(local_stack, "test-sns-big", "--message-size-bytes", "30000")
    with pytest.raises(ConfigError, match="262144 bytes per publish call"):
        user_harness([Producer], *args)
