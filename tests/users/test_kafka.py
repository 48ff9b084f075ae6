"""Tests for the Kafka users against a real Tansu broker, and for their options."""

import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import locust
import locust.argument_parser
import pytest
from locust.env import Environment

import users.kafka
import users.kafka_options
from users.errors import ConfigError
from users.kafka import KafkaConsumerUser, KafkaOptions, KafkaProducerUser
from users.run import RunContext, new_run_id, utc_now
from users.settings import Settings

REPO = Path(__file__).resolve().parents[2]
PRODUCERS = 3
PUBLISH_CALLS = 5
BATCH_SIZE = 10
FLUSH_TIMEOUT_S = 30.0
CONSUME_WAIT_S = 90.0
MAX_POLLS = 500


class Producer(KafkaProducerUser):
    pass


class Consumer(KafkaConsumerUser):
    """Notes the partition of every record each producer sent."""

    def on_start(self) -> None:
        super().on_start()
        self.partitions_by_producer: dict[str, set[int]] = defaultdict(set)

    def consumed(self, stamp, target, order_key=None) -> None:
        if stamp is not None:
            self.partitions_by_producer[stamp.producer_id].add(order_key)
        super().consumed(stamp, target, order_key)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_stack(action: str, port: int, state_dir: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "stack", "--services", "kafka",
        "--kafka-port", str(port), "--state-dir", str(state_dir), action,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def bootstrap_servers(tmp_path_factory):
    """Start Tansu on a free loopback port for this module; stop it at the end."""
    port = free_port()
    state_dir = tmp_path_factory.mktemp("tansu")
    started = run_stack("start", port, state_dir)
    if started.returncode != 0:
        pytest.fail(f"Tansu did not start: {started.stdout}{started.stderr}")
    yield f"127.0.0.1:{port}"
    run_stack("stop", port, state_dir)


class Harness:
    """A Locust environment with msgload's run state and a log of request events."""

    def __init__(self, *args: str) -> None:
        options = locust.argument_parser.parse_options(args=["-f", "x.py", *args])
        self.environment = Environment(
            user_classes=[Producer, Consumer],
            events=locust.events,
            parsed_options=options,
        )
        started = utc_now()
        self.run = RunContext(new_run_id(started), "test", started)
        self.run.settings = Settings.from_options(options)
        self.environment.msgload = self.run
        self.requests: list[dict] = []
        self.environment.events.request.add_listener(self._record)

    def _record(self, **event) -> None:
        self.requests.append(event)

    def close(self) -> None:
        self.environment.events.request.remove_listener(self._record)

    def successes(self, name: str) -> int:
        return sum(1 for r in self.requests if r["name"] == name and not r["exception"])

    def failures(self, name: str) -> list:
        requests = [r for r in self.requests if r["name"] == name]
        return [r["exception"] for r in requests if r["exception"]]

    def counts(self):
        self.run.ledger.merge_own()
        return self.run.ledger.services["Kafka"]


@pytest.fixture
def harness():
    """Return a factory of Harness objects built from command-line arguments."""
    built: list[Harness] = []

    def build(*args: str) -> Harness:
        built.append(Harness(*args))
        return built[-1]

    yield build
    for item in built:
        item.close()


def new_topic() -> str:
    return f"msgload-test-{uuid.uuid4().hex[:8]}"


def publish(harness: Harness, producers: int, calls: int) -> list[Producer]:
    """Start producers, publish calls batches from each and wait for the acks."""
    started = [Producer(harness.environment) for _ in range(producers)]
    for user in started:
        user.on_start()
    for _ in range(calls):
        for user in started:
            user.publish()
    for user in started:
        user.producer.flush(timeout=FLUSH_TIMEOUT_S)
    return started


def consume_all(harness: Harness, topic: str, expected: int) -> Consumer:
    """Poll with one consumer until it has read expected records or time is up."""
    consumer = Consumer(harness.environment)
    consumer.on_start()
    deadline = time.monotonic() + CONSUME_WAIT_S
    for _ in range(MAX_POLLS):
        if harness.successes(f"end-to-end {topic}") >= expected:
            break
        if time.monotonic() > deadline:
            break
        consumer.consume()
    return consumer


def stop(*started) -> None:
    for user in started:
        user.on_stop()


def round_trip(harness: Harness, topic: str):
    producers = publish(harness, PRODUCERS, PUBLISH_CALLS)
    expected = PRODUCERS * PUBLISH_CALLS * BATCH_SIZE
    consumer = consume_all(harness, topic, expected)
    stop(*producers, consumer)
    return consumer, harness.counts()


@pytest.mark.broker
@pytest.mark.parametrize("key", ["none", "producer", "message", "random"])
def test_round_trip_exact_per_key(bootstrap_servers, harness, key):
    topic = new_topic()
    run = harness(
        "--bootstrap-servers", bootstrap_servers, "--topic", topic,
        "--batch-size", str(BATCH_SIZE), "--kafka-key", key,
    )  # fmt: skip
    sent = PRODUCERS * PUBLISH_CALLS * BATCH_SIZE

    _, counts = round_trip(run, topic)

    assert run.successes(f"Produce {topic}") == sent
    assert run.failures(f"Produce {topic}") == []
    assert counts.published == sent
    assert counts.consumed_unique == sent
    assert run.successes(f"end-to-end {topic}") == counts.deliveries
    assert counts.out_of_order == 0
    assert counts.duplicates == 0
    assert counts.lost == 0


@pytest.mark.broker
def test_producer_key_keeps_one_partition(bootstrap_servers, harness):
    topic = new_topic()
    run = harness(
        "--bootstrap-servers", bootstrap_servers, "--topic", topic,
        "--batch-size", str(BATCH_SIZE), "--kafka-key", "producer",
    )  # fmt: skip

    consumer, _ = round_trip(run, topic)

    assert len(consumer.partitions_by_producer) == PRODUCERS
    for partitions in consumer.partitions_by_producer.values():
        assert len(partitions) == 1


@pytest.mark.broker
def test_no_key_spreads_over_partitions(bootstrap_servers, harness):
    topic = new_topic()
    run = harness(
        "--bootstrap-servers", bootstrap_servers, "--topic", topic,
        "--batch-size", str(BATCH_SIZE), "--kafka-key", "none",
    )  # fmt: skip

    consumer, _ = round_trip(run, topic)

    for partitions in consumer.partitions_by_producer.values():
        assert len(partitions) > 1


@pytest.mark.broker
@pytest.mark.parametrize(
    ("codec", "acks"), [("gzip", "1"), ("snappy", "0"), ("lz4", "all"), ("zstd", "1")]
)
def test_compression_and_acks_round_trip(bootstrap_servers, harness, codec, acks):
    topic = new_topic()
    run = harness(
        "--bootstrap-servers", bootstrap_servers, "--topic", topic,
        "--batch-size", str(BATCH_SIZE), "--kafka-compression", codec,
        "--kafka-acks", acks, "--kafka-linger-ms", "20",
        "--kafka-batch-bytes", "4096",
    )  # fmt: skip
    sent = PRODUCERS * PUBLISH_CALLS * BATCH_SIZE

    _, counts = round_trip(run, topic)

    assert run.successes(f"Produce {topic}") == sent
    assert counts.consumed_unique == sent
    assert counts.lost == 0
    assert counts.out_of_order == 0


@pytest.mark.broker
def test_unreachable_broker_fails_every_send(harness):
    topic = new_topic()
    run = harness("--bootstrap-servers", f"127.0.0.1:{free_port()}", "--topic", topic)
    producer = Producer(run.environment)

    producer.on_start()
    producer.publish()

    failures = run.failures(f"Produce {topic}")
    assert len(failures) == 2
    assert run.successes(f"Produce {topic}") == 0
    assert run.counts().published == 0
    for failure in failures:
        assert failure.code in ("NoBrokersAvailable", "KafkaTimeoutError")


def publish_one_per_batch(harness: Harness, count: int) -> None:
    """Publish count records, each in a record batch of its own."""
    producer = Producer(harness.environment)
    producer.on_start()
    for _ in range(count):
        producer.publish()
        producer.producer.flush(timeout=FLUSH_TIMEOUT_S)
    producer.on_stop()


@pytest.mark.broker
def test_consumer_lag_counts_unread(bootstrap_servers, harness):
    topic = new_topic()
    run = harness(
        "--bootstrap-servers", bootstrap_servers, "--topic", topic,
        "--batch-size", "1",
    )  # fmt: skip
    # Tansu's ListOffsets returns the base offset of a partition's last record
    # batch plus one, so only batches of one record give Kafka's end offset there.
    publish_one_per_batch(run, 12)

    lag = users.kafka.consumer_lag(bootstrap_servers, "msgload-never-read", topic)

    assert lag == 12


@pytest.mark.broker
def test_consumer_lag_zero_when_caught_up(bootstrap_servers, harness):
    topic = new_topic()
    run = harness(
        "--bootstrap-servers", bootstrap_servers, "--topic", topic,
        "--batch-size", "1",
    )  # fmt: skip
    publish_one_per_batch(run, 12)
    _, probe = Consumer.backlog_probe(run.run.settings, run.run)
    before = probe()

    consumer = consume_all(run, topic, 12)
    consumer.on_stop()
    after = probe()

    resource = f"msgload-{run.run.run_id}/{topic}"
    assert before == [("Kafka", resource, "consumer_lag", 12)]
    assert after == [("Kafka", resource, "consumer_lag", 0)]


def parse_settings(*args: str) -> Settings:
    options = locust.argument_parser.parse_options(args=["-f", "x.py", *args])
    return Settings.from_options(options)


def test_options_default_to_plain_producer():
    options = KafkaOptions.from_settings(parse_settings())

    assert options.producer_config() == {
        "acks": "all",
        "compression_type": None,
        "linger_ms": users.kafka_options.DEFAULT_KAFKA_LINGER_MS,
        "batch_size": users.kafka_options.DEFAULT_KAFKA_BATCH_BYTES,
    }
    assert options.key == "none"


def test_acks_below_all_turn_idempotence_off():
    settings = parse_settings("--kafka-acks", "1", "--kafka-compression", "gzip")

    config = KafkaOptions.from_settings(settings).producer_config()

    assert config["acks"] == 1
    assert config["enable_idempotence"] is False
    assert config["compression_type"] == "gzip"


def test_consumer_options_reach_consumer_config():
    settings = parse_settings(
        "--kafka-max-poll-records", "50", "--kafka-fetch-max-wait-ms", "100"
    )

    config = KafkaOptions.from_settings(settings).consumer_config()

    assert config == {"max_poll_records": 50, "fetch_max_wait_ms": 100}


def test_consumer_group_option_names_group():
    settings = parse_settings("--consumer-group", "team-a")
    default = KafkaOptions.from_settings(parse_settings())

    assert KafkaOptions.from_settings(settings).group_id("run-1") == "team-a"
    assert default.group_id("run-1") == "msgload-run-1"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--kafka-linger-ms", "-1"], "--kafka-linger-ms"),
        (["--kafka-batch-bytes", "0"], "--kafka-batch-bytes"),
        (["--kafka-max-poll-records", "0"], "--kafka-max-poll-records"),
        (["--kafka-fetch-max-wait-ms", "20000"], "--kafka-fetch-max-wait-ms"),
        (["--kafka-security", "iam"], "--kafka-security iam"),
        (["--kafka-security", "sasl-scram-sha-512"], "--kafka-sasl-username"),
    ],
)
def test_wrong_option_raises_config_error(args, option):
    settings = parse_settings(*args)

    with pytest.raises(ConfigError) as raised:
        Producer.check_settings(settings)

    assert option in str(raised.value)


def test_missing_codec_package_named(monkeypatch):
    monkeypatch.setitem(
        users.kafka_options.COMPRESSION_PACKAGES,
        "zstd",
        (lambda: False, "zstandard==0.25.0"),
    )
    settings = parse_settings("--kafka-compression", "zstd")

    with pytest.raises(ConfigError) as raised:
        Consumer.check_settings(settings)

    assert "pip install zstandard==0.25.0" in str(raised.value)


@pytest.mark.parametrize("topic", ["bad/topic", "..", "t" * 250])
def test_invalid_topic_name_rejected(topic):
    with pytest.raises(ConfigError, match="is not a valid Kafka topic name"):
        KafkaProducerUser.check_settings(parse_settings("--topic", topic))
