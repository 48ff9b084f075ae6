"""Amazon Kinesis Data Streams: a producer (PutRecord, PutRecords) and shard readers.

The stamp travels at the start of each record's data. Consumers read with
GetShardIterator and a GetRecords loop and check order per shard.

How shards are spread over consumers: the consumer users of one process share that
process's shards. Each shard has at most one GetRecords call in flight, so its
records are read once and in order whatever the number of consumer users. With
workers, the master waits until every worker has spawned its users, ranks the
workers that run a Kinesis consumer, and sends each one its rank; the worker of rank
r takes the shards at positions p with p mod (workers with consumers) == r. Workers
with no consumer read nothing. Until the master's message arrives, consumers wait.

NOTE: the first assignment stands for the whole run, so a worker that gets its first
Kinesis consumer later (a load shape adding consumers) reads no shard, and shards
that a reshard creates during the run are not read.
"""

import logging
import time

import boto3
import gevent
import locust

from users.base import ConsumerUser, ProducerUser
from users.envelope import Stamp, padded_payload, stamp_from_payload
from users.errors import BrokerError, ConfigError, translate
from users.kinesis_shards import (
    SHARE_TIMEOUT_S,
    SHARE_WAIT_S,
    ShardCursor,
    ShardPool,
    list_shard_ids,
    stop_waiting_for_share,
    waiting_for_share,
    worker_share,
)
from users.sqs import CLIENT_CONFIG
from users.sqs_fifo import ThrottlingApartMixin
from users.timing import elapsed_ms

logger = logging.getLogger(__name__)

__all__ = ["KinesisConsumerUser", "KinesisProducerUser", "ensure_stream"]

REQUEST_TYPE = "Kinesis"
DEFAULT_STREAM_NAME = "msgload-stream"
DEFAULT_SHARDS = 2
DEFAULT_KINESIS_KEY = "per-message"
DEFAULT_KINESIS_START = "run-start"
# Kinesis serves at most 5 GetRecords calls per second per shard.
DEFAULT_POLL_INTERVAL_S = 0.2
MAX_PUT_RECORDS = 500
MAX_RECORD_BYTES = 1_048_576
MAX_PUT_RECORDS_BYTES = 5 * 1_048_576
GET_RECORDS_LIMIT = 1000
STREAM_ACTIVE_TIMEOUT_S = 120.0
STREAM_POLL_S = 1.0
_ready_streams: set[tuple] = set()
_pools: dict[tuple, "ShardPool"] = {}
_iterator_age_ms: dict[str, dict[str, float]] = {}


@locust.events.init_command_line_parser.add_listener
def _add_arguments(parser) -> None:
    parser.add_argument(
        "--stream-name",
        default=DEFAULT_STREAM_NAME,
        help="Kinesis data stream, created if missing",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=DEFAULT_SHARDS,
        help="shards of the Kinesis stream when msgload creates it",
    )
    parser.add_argument(
        "--kinesis-key",
        choices=["per-message", "per-producer"],
        default=DEFAULT_KINESIS_KEY,
        help="Kinesis partition key: per-message (producer and sequence number, "
        "spread over shards) or per-producer (one shard per producer)",
    )
    parser.add_argument(
        "--kinesis-start",
        choices=["run-start", "trim-horizon"],
        default=DEFAULT_KINESIS_START,
        help="where Kinesis consumers start reading: run-start (AT_TIMESTAMP of "
        "the run's start) or trim-horizon (the oldest record kept)",
    )
    parser.add_argument(
        "--kinesis-poll-interval-s",
        type=float,
        default=DEFAULT_POLL_INTERVAL_S,
        help="seconds between two GetRecords calls on one shard",
    )


def kinesis_client(settings):
    return boto3.client("kinesis", config=CLIENT_CONFIG, **settings.boto3_options)


def option(settings, name: str, default):
    """Return this module's option name, or default when settings has no options."""
    return getattr(settings.options, name, default)


def stream_name(settings) -> str:
    return option(settings, "stream_name", DEFAULT_STREAM_NAME)


def ensure_stream(client, stream: str, shards: int) -> bool:
    """Create stream with shards shards if missing and wait until it is ACTIVE;
    return True when this call created it. Runs once per process and stream."""
    key = (client.meta.endpoint_url, client.meta.region_name, stream)
    if key in _ready_streams:
        return False
    created = False
    if stream_status(client, stream) is None:
        try:
            client.create_stream(StreamName=stream, ShardCount=shards)
            created = True
            logger.info("Created stream %s with %s shards", stream, shards)
        except client.exceptions.ResourceInUseException:
            pass
    deadline = time.monotonic() + STREAM_ACTIVE_TIMEOUT_S
    while stream_status(client, stream) != "ACTIVE":
        if time.monotonic() > deadline:
            raise BrokerError(
                "StreamNotActive",
                f"stream {stream} is not ACTIVE after {STREAM_ACTIVE_TIMEOUT_S:g} s",
            )
        gevent.sleep(STREAM_POLL_S)
    _ready_streams.add(key)
    return created


def stream_status(client, stream: str) -> str | None:
    """Return the stream's status, or None when it does not exist."""
    try:
        summary = client.describe_stream_summary(StreamName=stream)
    except client.exceptions.ResourceNotFoundException:
        return None
    return summary["StreamDescriptionSummary"]["StreamStatus"]


def record_iterator_age(stream: str, shard_id: str, age_ms: float) -> None:
    _iterator_age_ms.setdefault(stream, {})[shard_id] = age_ms


class KinesisUserMixin:
    """The options check and stream set-up that Kinesis users share."""

    @classmethod
    def check_settings(cls, settings) -> None:
        shards = option(settings, "shards", DEFAULT_SHARDS)
        _require(shards >= 1, f"--shards must be 1 or more (got {shards}).")
        _require(
            settings.batch_size <= MAX_PUT_RECORDS,
            f"--batch-size must be at most {MAX_PUT_RECORDS} for Kinesis PutRecords.",
        )
        _require(
            settings.message_size_bytes <= MAX_RECORD_BYTES,
            f"--message-size-bytes must be at most {MAX_RECORD_BYTES} for a "
            f"Kinesis record (got {settings.message_size_bytes}).",
        )
        _require(
            settings.batch_size * settings.message_size_bytes <= MAX_PUT_RECORDS_BYTES,
            f"--batch-size times --message-size-bytes must be at most "
            f"{MAX_PUT_RECORDS_BYTES} bytes per PutRecords call; lower either.",
        )
        interval_s = option(
            settings, "kinesis_poll_interval_s", DEFAULT_POLL_INTERVAL_S
        )
        _require(
            interval_s > 0,
            f"--kinesis-poll-interval-s must be above 0 (got {interval_s:g}).",
        )

    def ensure_stream(self) -> bool:
        if self.stream_ready:
            return True
        name = f"CreateStream {self.stream}"
        shards = option(self.settings, "shards", DEFAULT_SHARDS)
        started = time.perf_counter()
        try:
            created = ensure_stream(self.client, self.stream, shards)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            self.wait_after_failure()
            return False
        if created:
            self.report(name, elapsed_ms(started))
        self.stream_ready = True
        return True

    def start_client(self) -> None:
        self.client = kinesis_client(self.settings)
        self.stream = stream_name(self.settings)
        self.stream_ready = False


def _require(condition: bool, sentence: str) -> None:
    if not condition:
        raise ConfigError(sentence)


class KinesisProducerUser(ThrottlingApartMixin, KinesisUserMixin, ProducerUser):
    """Puts stamped records with PutRecord, or PutRecords when --batch-size is
    above 1.

    A record that PutRecords rejected (ProvisionedThroughputExceededException,
    InternalFailure) is one failure with its error code; the others count as sent.
    Throttled records are reported as "Throttled PutRecords <stream>". AWS does
    not promise order among the records of one PutRecords call, so out-of-order
    counts above 0 are possible with --batch-size above 1; PutRecord keeps order.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "moto"

    def on_start(self) -> None:
        super().on_start()
        self.start_client()
        self.ensure_stream()

    def partition_key(self, stamp: Stamp) -> str:
        if option(self.settings, "kinesis_key", DEFAULT_KINESIS_KEY) == "per-producer":
            return stamp.producer_id
        return f"{stamp.producer_id}-{stamp.seq}"

    def publish(self) -> None:
        if not self.ensure_stream():
            return
        stamps = [self.next_stamp() for _ in range(self.settings.batch_size)]
        records = [
            {
                "Data": padded_payload(self.settings.message_size_bytes, stamp),
                "PartitionKey": self.partition_key(stamp),
            }
            for stamp in stamps
        ]
        if self.settings.batch_size == 1:
            self.put_one(records[0], stamps[0])
        else:
            self.put_batch(records, stamps)

    def put_one(self, record: dict, stamp: Stamp) -> None:
        name = f"PutRecord {self.stream}"
        started = time.perf_counter()
        start_time = time.time()
        try:
            self.client.put_record(StreamName=self.stream, **record)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            return
        size = len(record["Data"])
        self.report(name, elapsed_ms(started), size, start_time_s=start_time)
        self.acked(stamp, self.stream)

    def put_batch(self, records: list[dict], stamps: list[Stamp]) -> None:
        name = f"PutRecords {self.stream}"
        started = time.perf_counter()
        start_time = time.time()
        try:
            response = self.client.put_records(StreamName=self.stream, Records=records)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error, count=len(records))
            return
        took_ms = elapsed_ms(started)
        failed = []
        # PutRecords returns one result per record, in the request's order.
        results = zip(records, stamps, response["Records"], strict=True)
        for record, stamp, result in results:
            if "ErrorCode" in result:
                code, message = result["ErrorCode"], result.get("ErrorMessage", "")
                failed.append({"Code": code, "Message": message})
                continue
            size = len(record["Data"])
            self.report(name, took_ms, size, start_time_s=start_time)
            self.acked(stamp, self.stream)
        self.report_failed_entries(name, failed, took_ms)


class KinesisConsumerUser(ThrottlingApartMixin, KinesisUserMixin, ConsumerUser):
    """Reads the shards of --stream-name with GetRecords and checks order per shard.

    Reads are reported as "GetRecords <stream>", or "GetRecords (empty) <stream>"
    when they return no record. The iterator age of a shard is the larger of
    GetRecords' MillisBehindLatest and the age of the last record read (now minus
    its ApproximateArrivalTimestamp). The second keeps the age meaningful on
    moto 5, which always returns MillisBehindLatest 0.
    """

    reads_kinesis_shards = True
    """Marks the users among which the master spreads the stream's shards."""
    abstract = True
    service = REQUEST_TYPE
    broker = "moto"

    @classmethod
    def backlog_probe(cls, settings, run):
        """Return the probe of the stream's iterator age, the largest over the
        shards this process reads; on a master with remote workers it finds none."""
        stream = stream_name(settings)

        def probe():
            ages = _iterator_age_ms.get(stream)
            if not ages:
                return []
            return [(cls.service, stream, "iterator_age_ms", max(ages.values()))]

        return f"{cls.service} {stream}", probe

    def on_start(self) -> None:
        super().on_start()
        self.start_client()
        self.pool: ShardPool | None = None
        self.interval_s = option(
            self.settings, "kinesis_poll_interval_s", DEFAULT_POLL_INTERVAL_S
        )
        self.ensure_pool()

    def ensure_pool(self) -> bool:
        if self.pool is not None:
            return True
        if waiting_for_share(self.environment):
            self._wait_for_share()
            return False
        if not self.ensure_stream():
            return False
        key = (self.settings.endpoint_url, self.settings.region, self.stream)
        if key not in _pools:
            name = f"ListShards {self.stream}"
            started = time.perf_counter()
            try:
                shard_ids = list_shard_ids(self.client, self.stream)
            except Exception as error:  # noqa: BLE001 - reported as a failure event
                self.report_failure(name, error)
                self.wait_after_failure()
                return False
            self.report(name, elapsed_ms(started))
            share = worker_share(shard_ids, self.environment)
            _pools.setdefault(key, ShardPool(share))
        self.pool = _pools[key]
        return True

    def _wait_for_share(self) -> None:
        waited_s = getattr(self, "_share_waited_s", 0.0)
        if waited_s >= SHARE_TIMEOUT_S:
            logger.error(
                "No share of stream %s's shards came from the master in %s s; this "
                "worker reads none",
                self.stream,
                SHARE_TIMEOUT_S,
            )
            stop_waiting_for_share()
            return
        gevent.sleep(SHARE_WAIT_S)
        self._share_waited_s = waited_s + SHARE_WAIT_S

    def consume(self) -> None:
        if not self.ensure_pool():
            return
        cursor = self.pool.take()
        if cursor is None:
            gevent.sleep(self.pool.wait_s(self.interval_s))
            return
        try:
            self.read(cursor)
        finally:
            self.pool.release(cursor, self.interval_s)

    def read(self, cursor: ShardCursor) -> None:
        if cursor.iterator is None and not self.open_iterator(cursor):
            return
        started = time.perf_counter()
        try:
            response = self.client.get_records(
                ShardIterator=cursor.iterator, Limit=GET_RECORDS_LIMIT
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            if translate(error).code == "ExpiredIteratorException":
                cursor.iterator = None
            self.report_failure(f"GetRecords {self.stream}", error)
            return
        took_ms = elapsed_ms(started)
        records = response["Records"]
        size = sum(len(record["Data"]) for record in records)
        empty = "" if records else " (empty)"
        self.report(f"GetRecords{empty} {self.stream}", took_ms, size)
        for record in records:
            stamp = stamp_from_payload(record["Data"])
            self.consumed(stamp, self.stream, cursor.shard_id)
            cursor.last_sequence = record["SequenceNumber"]
        self.advance(cursor, response)

    def advance(self, cursor: ShardCursor, response: dict) -> None:
        cursor.iterator = response.get("NextShardIterator")
        if cursor.iterator is None:
            cursor.closed = True
            logger.info("Shard %s of stream %s is closed", cursor.shard_id, self.stream)
        age_ms = float(response.get("MillisBehindLatest", 0))
        if response["Records"]:
            arrived = response["Records"][-1]["ApproximateArrivalTimestamp"]
            age_ms = max(age_ms, (time.time() - arrived.timestamp()) * 1000.0)
        record_iterator_age(self.stream, cursor.shard_id, round(age_ms, 1))

    def open_iterator(self, cursor: ShardCursor) -> bool:
        name = f"GetShardIterator {self.stream}"
        request = self.iterator_request(cursor)
        started = time.perf_counter()
        try:
            response = self.client.get_shard_iterator(**request)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(name, error)
            return False
        self.report(name, elapsed_ms(started))
        cursor.iterator = response["ShardIterator"]
        return True

    def iterator_request(self, cursor: ShardCursor) -> dict:
        """Return GetShardIterator's arguments: after the last record read, or at
        the start that --kinesis-start names."""
        request = {"StreamName": self.stream, "ShardId": cursor.shard_id}
        if cursor.last_sequence is not None:
            request["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            request["StartingSequenceNumber"] = cursor.last_sequence
        elif option(self.settings, "kinesis_start", DEFAULT_KINESIS_START) == (
            "trim-horizon"
        ):
            request["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            request["ShardIteratorType"] = "AT_TIMESTAMP"
            request["Timestamp"] = self.run.started_at
        return request
