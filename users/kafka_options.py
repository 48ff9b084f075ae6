"""Kafka and MSK options: registered on Locust's parser and checked before a run.

KafkaOptions turns them into kafka-python's producer and consumer settings.
"""

from dataclasses import dataclass

import kafka.codec
import locust

from users.errors import ConfigError
from users.kafka_auth import KafkaSecurity, add_security_arguments

__all__ = ["KafkaOptions", "add_kafka_arguments"]

REQUEST_TIMEOUT_MS = 10_000
# A send the broker has not acknowledged this long after the call fails with
# KafkaTimeoutError. kafka-python 3.0's default of 120 s outlasts most drain periods.
DELIVERY_TIMEOUT_MS = 30_000
KEY_STRATEGIES = ("none", "producer", "message", "random")
DEFAULT_KAFKA_KEY = "none"
ACKS_CHOICES = ("0", "1", "all")
DEFAULT_KAFKA_ACKS = "all"
COMPRESSION_CODECS = ("none", "gzip", "snappy", "lz4", "zstd")
DEFAULT_KAFKA_COMPRESSION = "none"
# Codec: kafka-python's check that the codec's package imports, and the package.
# gzip is built into Python.
COMPRESSION_PACKAGES = {
    "snappy": (kafka.codec.has_snappy, "python-snappy==0.7.3"),
    "lz4": (kafka.codec.has_lz4, "lz4==4.4.5"),
    "zstd": (kafka.codec.has_zstd, "zstandard==0.25.0"),
}
DEFAULT_KAFKA_LINGER_MS = 5
DEFAULT_KAFKA_BATCH_BYTES = 16_384
DEFAULT_KAFKA_MAX_POLL_RECORDS = 500
DEFAULT_KAFKA_FETCH_MAX_WAIT_MS = 500


@locust.events.init_command_line_parser.add_listener
def add_kafka_arguments(parser) -> None:
    """Register the Kafka and MSK options on Locust's argument parser."""
    option = parser.add_argument
    option(
        "--kafka-key",
        choices=KEY_STRATEGIES,
        default=DEFAULT_KAFKA_KEY,
        help="record key: none (partitions chosen at random); producer (the "
        "producer's id, so each producer writes to one partition); message (the "
        "sequence number); random (8 random bytes)",
    )
    option(
        "--kafka-acks",
        choices=ACKS_CHOICES,
        default=DEFAULT_KAFKA_ACKS,
        help="acknowledgement a send waits for: 0 none, 1 the partition leader, "
        "all every in-sync replica",
    )
    option(
        "--kafka-compression",
        choices=COMPRESSION_CODECS,
        default=DEFAULT_KAFKA_COMPRESSION,
        help="compression codec of the producer's record batches",
    )
    option(
        "--kafka-linger-ms",
        type=int,
        default=DEFAULT_KAFKA_LINGER_MS,
        help="milliseconds the producer waits to fill a batch before sending it",
    )
    option(
        "--kafka-batch-bytes",
        type=int,
        default=DEFAULT_KAFKA_BATCH_BYTES,
        help="maximum size in bytes of the producer's batch for one partition",
    )
    option(
        "--consumer-group",
        default="",
        help="consumer group of every consumer user on every worker (default "
        "msgload-<run id>, a new group each run)",
    )
    option(
        "--kafka-max-poll-records",
        type=int,
        default=DEFAULT_KAFKA_MAX_POLL_RECORDS,
        help="maximum records one consumer poll returns",
    )
    option(
        "--kafka-fetch-max-wait-ms",
        type=int,
        default=DEFAULT_KAFKA_FETCH_MAX_WAIT_MS,
        help="milliseconds the broker may hold a fetch while it waits for data",
    )
    add_security_arguments(parser)


@dataclass(frozen=True)
class KafkaOptions:
    """The Kafka options of a run, read from Locust's parsed options."""

    key: str
    acks: str
    compression: str
    linger_ms: int
    batch_bytes: int
    consumer_group: str
    max_poll_records: int
    fetch_max_wait_ms: int
    security: KafkaSecurity

    @classmethod
    def from_settings(cls, settings) -> "KafkaOptions":
        options = settings.options
        return cls(
            key=getattr(options, "kafka_key", DEFAULT_KAFKA_KEY),
            acks=str(getattr(options, "kafka_acks", DEFAULT_KAFKA_ACKS)),
            compression=getattr(
                options, "kafka_compression", DEFAULT_KAFKA_COMPRESSION
            ),
            linger_ms=getattr(options, "kafka_linger_ms", DEFAULT_KAFKA_LINGER_MS),
            batch_bytes=getattr(
                options, "kafka_batch_bytes", DEFAULT_KAFKA_BATCH_BYTES
            ),
            consumer_group=getattr(options, "consumer_group", ""),
            max_poll_records=getattr(
                options, "kafka_max_poll_records", DEFAULT_KAFKA_MAX_POLL_RECORDS
            ),
            fetch_max_wait_ms=getattr(
                options, "kafka_fetch_max_wait_ms", DEFAULT_KAFKA_FETCH_MAX_WAIT_MS
            ),
            security=KafkaSecurity.from_settings(settings),
        )

    def group_id(self, run_id: str) -> str:
        return self.consumer_group or f"msgload-{run_id}"

    def check(self, target: str) -> None:
        """Raise ConfigError with one sentence naming the wrong option and the fix."""
        _require(
            self.key in KEY_STRATEGIES,
            f"--kafka-key must be one of {', '.join(KEY_STRATEGIES)}.",
        )
        _require(self.acks in ACKS_CHOICES, "--kafka-acks must be 0, 1 or all.")
        _check_compression(self.compression)
        max_linger_ms = DELIVERY_TIMEOUT_MS - REQUEST_TIMEOUT_MS
        _require(
            0 <= self.linger_ms <= max_linger_ms,
            f"--kafka-linger-ms must be between 0 and {max_linger_ms} "
            f"(got {self.linger_ms}).",
        )
        _require(
            self.batch_bytes >= 1,
            f"--kafka-batch-bytes must be 1 or more (got {self.batch_bytes}).",
        )
        _require(
            self.max_poll_records >= 1,
            f"--kafka-max-poll-records must be 1 or more "
            f"(got {self.max_poll_records}).",
        )
        _require(
            0 <= self.fetch_max_wait_ms < REQUEST_TIMEOUT_MS,
            f"--kafka-fetch-max-wait-ms must be between 0 and "
            f"{REQUEST_TIMEOUT_MS - 1} (got {self.fetch_max_wait_ms}).",
        )
        self.security.check(target)

    def producer_config(self) -> dict:
        """Return the KafkaProducer keyword arguments these options set."""
        config = {
            "acks": "all" if self.acks == "all" else int(self.acks),
            "compression_type": None
            if self.compression == "none"
            else self.compression,
            "linger_ms": self.linger_ms,
            "batch_size": self.batch_bytes,
        }
        if self.acks != "all":
            # Idempotence needs acks=all; kafka-python would turn it off with a
            # warning on every producer.
            config["enable_idempotence"] = False
        return config

    def consumer_config(self) -> dict:
        """Return the KafkaConsumer keyword arguments these options set."""
        return {
            "max_poll_records": self.max_poll_records,
            "fetch_max_wait_ms": self.fetch_max_wait_ms,
        }


def _require(condition: bool, sentence: str) -> None:
    if not condition:
        raise ConfigError(sentence)


def _check_compression(codec: str) -> None:
    _require(
        codec in COMPRESSION_CODECS,
        f"--kafka-compression must be one of {', '.join(COMPRESSION_CODECS)} "
        f"(got {codec!r}).",
    )
    if codec not in COMPRESSION_PACKAGES:
        return
    importable, package = COMPRESSION_PACKAGES[codec]
    if not importable():
        raise ConfigError(
            f"--kafka-compression {codec} needs the Python package {package}; "
            f"install it with pip install {package}, or choose another codec."
        )
