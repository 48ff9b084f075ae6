"""Apache Kafka and Amazon MSK through kafka-python: a producer and a consumer group.

The producer sends asynchronously. Each send is timed from the call to the broker's
acknowledgement and reported from the acknowledgement callback, so the user never
waits for one message before sending the next. A semaphore bounds the sends in
flight per user, so the latency reported is the broker's, not a queue inside this
process.
"""

import logging
import time

import gevent.lock
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from users.base import ConsumerUser, ProducerUser
from users.envelope import STAMP_ATTRIBUTE, Stamp, padded_payload
from users.errors import ConfigError
from users.timing import elapsed_ms

logger = logging.getLogger(__name__)

__all__ = ["KafkaConsumerUser", "KafkaProducerUser"]

REQUEST_TYPE = "Kafka"
REQUEST_TIMEOUT_MS = 10_000
# Tansu finishes a consumer-group join only after the group's rebalance timeout,
# which kafka-python takes from max_poll_interval_ms, and its session timeout
# (kafka-python 3 defaults to 45 s) holds the join back too; short ones keep joins
# at seconds. The consumer polls at least once a second, well within both.
MAX_POLL_INTERVAL_MS = 5_000
SESSION_TIMEOUT_MS = 6_000
HEARTBEAT_INTERVAL_MS = 1_000
POLL_TIMEOUT_MS = 1_000
FLUSH_TIMEOUT_S = 10.0
_created_topics: set[tuple[str, str]] = set()


def ensure_topic(bootstrap_servers: str, topic: str, partitions: int) -> None:
    """Create topic once per process; an existing topic is left as it is."""
    if (bootstrap_servers, topic) in _created_topics:
        return
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=REQUEST_TIMEOUT_MS
    )
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
        logger.info("Created topic %s with %s partitions", topic, partitions)
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    _created_topics.add((bootstrap_servers, topic))


def consumer_lag(bootstrap_servers: str, group_id: str, topic: str) -> int:
    """Return the group's lag on topic: end offsets minus committed offsets.

    The committed offsets are read first and the end offsets right after, so a
    partition's lag is never below zero; a partition the group has not committed
    yet counts from its beginning offset. A caught-up group reads 0.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=REQUEST_TIMEOUT_MS
    )
    reader = KafkaConsumer(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=REQUEST_TIMEOUT_MS + 1
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
        group_id = f"msgload-{run.run_id}"
        topic = settings.topic

        def probe():
            lag = consumer_lag(settings.bootstrap_servers, group_id, topic)
            return [(cls.service, f"{group_id}/{topic}", "consumer_lag", lag)]

        return f"{cls.service} {topic}", probe

    @classmethod
    def check_settings(cls, settings) -> None:
        if not settings.bootstrap_servers:
            raise ConfigError(
                "--bootstrap-servers is required with --target aws; pass the MSK "
                "cluster's bootstrap brokers (aws kafka get-bootstrap-brokers)."
            )


class KafkaProducerUser(KafkaUserMixin, ProducerUser):
    """Sends stamped records to --topic, reported as "Produce <topic>".

    The stamp travels in the record header "msgload". A broker that cannot be
    reached or a send that times out is a failure, never a success.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "kafka"

    producer_options: dict = {"acks": "all", "linger_ms": 5}
    """Extra KafkaProducer options (acks, linger_ms, compression_type, ...)."""

    def on_start(self) -> None:
        super().on_start()
        self.producer: KafkaProducer | None = None
        self.in_flight = gevent.lock.BoundedSemaphore(self.settings.max_in_flight)
        self.payload = padded_payload(self.settings.message_size_bytes)
        self.connect()

    def connect(self) -> bool:
        if self.producer is not None:
            return True
        try:
            ensure_topic(
                self.settings.bootstrap_servers,
                self.settings.topic,
                self.settings.partitions,
            )
            self.producer = KafkaProducer(
                bootstrap_servers=self.settings.bootstrap_servers,
                request_timeout_ms=REQUEST_TIMEOUT_MS,
                max_block_ms=REQUEST_TIMEOUT_MS,
                **self.producer_options,
            )
        except Exception as error:
            self.report_failure(f"Produce {self.settings.topic}", error)
            self.wait_after_failure()
            return False
        return True

    def publish(self) -> None:
        if not self.connect():
            return
        for _ in range(self.settings.batch_size):
            self.in_flight.acquire()
            self.send(self.next_stamp())

    def send(self, stamp: Stamp) -> None:
        name = f"Produce {self.settings.topic}"
        headers = [(STAMP_ATTRIBUTE, stamp.encode().encode())]
        started = time.perf_counter()
        start_time = time.time()
        try:
            future = self.producer.send(
                self.settings.topic, value=self.payload, headers=headers
            )
        except Exception as error:
            self.in_flight.release()
            self.report_failure(name, error)
            return
        future.add_callback(self._on_ack, name, stamp, started, start_time)
        future.add_errback(self._on_error, name)

    def _on_ack(self, name, stamp, started, start_time, _metadata) -> None:
        self.in_flight.release()
        self.report(
            name, elapsed_ms(started), len(self.payload), start_time_s=start_time
        )
        self.acked(stamp)

    def _on_error(self, name, error) -> None:
        self.in_flight.release()
        self.report_failure(name, error)

    def on_stop(self) -> None:
        if self.producer is not None:
            self.producer.flush(timeout=FLUSH_TIMEOUT_S)
            self.producer.close(timeout=FLUSH_TIMEOUT_S)
            self.producer = None


class KafkaConsumerUser(KafkaUserMixin, ConsumerUser):
    """Reads --topic in the run's consumer group and checks order per partition.

    All consumer users of a run, on every worker, share one group named after the
    run, so each record is read once by the group.
    """

    abstract = True
    service = REQUEST_TYPE
    broker = "kafka"

    consumer_options: dict = {}
    """Extra KafkaConsumer options."""

    def on_start(self) -> None:
        super().on_start()
        self.consumer: KafkaConsumer | None = None
        self.connect()

    @property
    def group_id(self) -> str:
        return f"msgload-{self.run.run_id}"

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
                **self.consumer_options,
            )
        except Exception as error:
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
        except Exception as error:
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
