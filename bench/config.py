"""The client settings that the raw loops and msgload's users share in the bench.

The raw processes must not import msgload's users (that would load Locust and
gevent's monkey-patching), so the values msgload uses by default are repeated here
and passed to msgload on its command line.
"""

__all__ = [
    "KAFKA_PRODUCER_CONFIG",
    "KAFKA_SUITE_ARGUMENTS",
    "SQS_CLIENT_CONFIG",
    "describe_settings",
]

KAFKA_ACKS = "all"
KAFKA_LINGER_MS = 5
KAFKA_BATCH_BYTES = 16_384
KAFKA_PARTITIONS = 4
# msgload's own client timeouts (users/kafka_options.py); they change no hot path.
REQUEST_TIMEOUT_MS = 10_000
DELIVERY_TIMEOUT_MS = 30_000

KAFKA_PRODUCER_CONFIG = {
    "acks": KAFKA_ACKS,
    "linger_ms": KAFKA_LINGER_MS,
    "batch_size": KAFKA_BATCH_BYTES,
    "compression_type": None,
    "request_timeout_ms": REQUEST_TIMEOUT_MS,
    "max_block_ms": REQUEST_TIMEOUT_MS,
    "delivery_timeout_ms": DELIVERY_TIMEOUT_MS,
}
KAFKA_SUITE_ARGUMENTS = [
    "--kafka-acks", KAFKA_ACKS,
    "--kafka-linger-ms", str(KAFKA_LINGER_MS),
    "--kafka-batch-bytes", str(KAFKA_BATCH_BYTES),
    "--kafka-compression", "none",
    "--kafka-key", "none",
    "--partitions", str(KAFKA_PARTITIONS),
]  # fmt: skip

# msgload's botocore settings (users/sqs.py): no retries, short connect timeout.
SQS_CLIENT_CONFIG = {
    "retries": {"mode": "standard", "max_attempts": 1},
    "connect_timeout": 5,
    "read_timeout": 30,
    "max_pool_connections": 4,
}
LOCAL_REGION = "us-east-1"
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def describe_settings(max_in_flight: int, batch_size: int) -> list[str]:
    """Return the lines of RESULTS.md that state the shared client settings."""
    return [
        f"Kafka producer config, raw and msgload alike: acks={KAFKA_ACKS}, "
        f"linger_ms={KAFKA_LINGER_MS}, batch_size={KAFKA_BATCH_BYTES} bytes, no "
        f"compression, no record key, topic of {KAFKA_PARTITIONS} partitions, "
        f"at most {max_in_flight} sends awaiting acknowledgement (a semaphore in "
        "both).",
        f"msgload's Kafka user: one user, --batch-size {batch_size} sends per "
        f"task, --max-in-flight {max_in_flight}, --publish-rate 0 (as fast as it "
        "can); every record carries the stamp header, every acknowledgement is "
        "reported to Locust's stats and the ledger.",
        "The raw Kafka loop sends the same payload with no header and records "
        "each acknowledgement's latency in the producer's callback.",
        "SQS, raw and msgload alike: SendMessage of one message at a time (msgload "
        "--batch-size 1) with msgload's botocore config (one attempt, no retries); "
        "msgload adds the stamp as a message attribute.",
    ]
