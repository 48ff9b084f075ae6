"""Kinesis users against moto: the stream, shard readers, order and failed records."""

from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber
from locust.runners import WorkerRunner

from users import ConfigError, KinesisConsumerUser, KinesisProducerUser, kinesis_shards
from users.kinesis_shards import worker_share

pytestmark = pytest.mark.broker


class Producer(KinesisProducerUser):
    pass


class Consumer(KinesisConsumerUser):
    pass


def kinesis_args(local_stack, stream: str, *extra: str) -> list[str]:
    return [
        *("--endpoint-url", local_stack.endpoint_url, "--stream-name", stream),
        *("--kinesis-poll-interval-s", "0.01", *extra),
    ]


def kinesis(endpoint_url: str):
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def consume_until(harness, consumers, stream: str, count: int) -> None:
    for _ in range(200):
        if len(harness.successes(f"end-to-end {stream}")) >= count:
            return
        for consumer in consumers:
            consumer.consume()


def counts_of(harness):
    ledger = harness.environment.msgload.ledger
    ledger.merge_own()
    return ledger.services["Kinesis"]


def test_put_records_read_in_shard_order(local_stack, user_harness):
    stream = "test-kinesis-batch"
    harness = user_harness([Producer, Consumer], *kinesis_args(local_stack, stream))
    producer = Producer(harness.environment)
    consumer = Consumer(harness.environment)
    producer.on_start()
    consumer.on_start()

    for _ in range(5):
        producer.publish()
    consume_until(harness, [consumer], stream, 50)

    counts = counts_of(harness)
    assert len(harness.successes(f"PutRecords {stream}")) == 50
    assert counts.published == 50
    assert counts.consumed_unique == 50
    assert counts.duplicates == 0
    assert counts.out_of_order == 0
    assert counts.lost == 0
    assert len(harness.successes(f"end-to-end {stream}")) == 50
    read_shards = [c.shard_id for c in consumer.pool.cursors if c.last_sequence]
    assert len(read_shards) == 2


def test_per_producer_key_uses_one_shard(local_stack, user_harness):
    stream = "test-kinesis-single"
    args = kinesis_args(local_stack, stream, "--batch-size", "1")
    harness = user_harness([Producer, Consumer], *args, "--kinesis-key", "per-producer")
    producer = Producer(harness.environment)
    consumer = Consumer(harness.environment)
    producer.on_start()
    consumer.on_start()

    for _ in range(8):
        producer.publish()
    consume_until(harness, [consumer], stream, 8)

    counts = counts_of(harness)
    assert len(harness.successes(f"PutRecord {stream}")) == 8
    assert counts.consumed_unique == 8
    assert counts.out_of_order == 0
    read_shards = [c.shard_id for c in consumer.pool.cursors if c.last_sequence]
    assert len(read_shards) == 1


def test_two_consumers_share_shards_once(local_stack, user_harness):
    stream = "test-kinesis-shared"
    args = kinesis_args(local_stack, stream, "--shards", "3")
    harness = user_harness([Producer, Consumer], *args)
    producer = Producer(harness.environment)
    consumers = [Consumer(harness.environment), Consumer(harness.environment)]
    producer.on_start()
    for consumer in consumers:
        consumer.on_start()

    for _ in range(4):
        producer.publish()
    consume_until(harness, consumers, stream, 40)

    counts = counts_of(harness)
    assert consumers[0].pool is consumers[1].pool
    assert counts.consumed_unique == 40
    assert counts.duplicates == 0
    assert counts.out_of_order == 0


def test_missing_stream_created_with_shards(local_stack, user_harness):
    stream = "test-kinesis-create"
    args = kinesis_args(local_stack, stream, "--shards", "3")
    harness = user_harness([Producer], *args)
    producer = Producer(harness.environment)

    producer.on_start()

    summary = kinesis(local_stack.endpoint_url).describe_stream_summary(
        StreamName=stream
    )["StreamDescriptionSummary"]
    assert summary["StreamStatus"] == "ACTIVE"
    assert summary["OpenShardCount"] == 3
    assert len(harness.successes(f"CreateStream {stream}")) == 1


def test_consumer_records_iterator_age(local_stack, user_harness):
    stream = "test-kinesis-age"
    harness = user_harness([Producer, Consumer], *kinesis_args(local_stack, stream))
    producer = Producer(harness.environment)
    consumer = Consumer(harness.environment)
    producer.on_start()
    consumer.on_start()
    producer.publish()
    consume_until(harness, [consumer], stream, 10)

    _, probe = Consumer.backlog_probe(
        harness.environment.msgload.settings, harness.environment.msgload
    )
    ((service, resource, metric, value),) = probe()

    assert (service, resource, metric) == ("Kinesis", stream, "iterator_age_ms")
    assert value >= 0


def test_put_records_with_three_throttled(local_stack, user_harness):
    stream = "test-kinesis-stub"
    harness = user_harness([Producer], *kinesis_args(local_stack, stream))
    producer = Producer(harness.environment)
    producer.on_start()
    throttled = {
        "ErrorCode": "ProvisionedThroughputExceededException",
        "ErrorMessage": "Rate exceeded for shard shardId-000000000001 in stream "
        f"{stream} under account 123456789012.",
    }
    accepted = {"SequenceNumber": "4960", "ShardId": "shardId-000000000000"}
    records = [throttled if i in (2, 5, 7) else accepted for i in range(10)]
    response = {"FailedRecordCount": 3, "Records": records}

    with Stubber(producer.client) as stubber:
        stubber.add_response("put_records", response)
        producer.publish()

    name = f"PutRecords {stream}"
    assert len(harness.successes(name)) == 7
    failures = harness.failures(f"Throttled {name}")
    assert len(failures) == 3
    codes = {failure["exception"].code for failure in failures}
    assert codes == {"ProvisionedThroughputExceededException"}
    acked = harness.environment.msgload.ledger.take_pending()["Kinesis"]["acked"]
    assert acked == {producer.producer_id: [[0, 1], [3, 4], [6, 6], [8, 9]]}


def test_zero_shards_rejected(local_stack, user_harness):
    args = kinesis_args(local_stack, "test-kinesis-zero", "--shards", "0")
    with pytest.raises(ConfigError, match="--shards must be 1 or more"):
        user_harness([Producer], *args)


def worker_environment():
    runner = object.__new__(WorkerRunner)
    runner.greenlet = None  # Runner.__del__ reads it
    return SimpleNamespace(runner=runner)


def share_for(shard_ids, rank, readers):
    kinesis_shards._assigned_share.clear()
    kinesis_shards._assigned_share.update({"rank": rank, "of": readers})
    try:
        return worker_share(shard_ids, worker_environment())
    finally:
        kinesis_shards._assigned_share.clear()


def test_workers_split_shards_without_overlap():
    shard_ids = [f"shardId-00000000000{i}" for i in range(5)]

    shares = [share_for(shard_ids, rank, 2) for rank in range(2)]

    assert shares[0] == [shard_ids[0], shard_ids[2], shard_ids[4]]
    assert shares[1] == [shard_ids[1], shard_ids[3]]


def test_worker_without_consumer_reads_no_shard():
    shard_ids = ["shardId-000000000000", "shardId-000000000001"]

    assert share_for(shard_ids, None, 1) == []


def test_worker_waits_for_its_share():
    kinesis_shards._assigned_share.clear()
    assert kinesis_shards.waiting_for_share(worker_environment()) is True
