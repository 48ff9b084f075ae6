"""The raw kafka-python producer loop that msgload's Kafka user is measured against."""

import threading
import time

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from bench.config import KAFKA_PARTITIONS, KAFKA_PRODUCER_CONFIG
from bench.measure import Window

__all__ = ["create_topic", "run_kafka_raw"]

FLUSH_TIMEOUT_S = 30.0


def create_topic(bootstrap_servers: str, topic: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers)
    try:
        admin.create_topics([NewTopic(topic, KAFKA_PARTITIONS, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()


def run_kafka_raw(args) -> dict:
    """Send as fast as the in-flight bound allows; return the window's result."""
    create_topic(args.bootstrap_servers, args.name)
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap_servers, **KAFKA_PRODUCER_CONFIG
    )
    payload = b"x" * args.message_size_bytes
    in_flight = threading.BoundedSemaphore(args.max_in_flight)
    window = Window()

    def on_ack(started_s: float, _metadata) -> None:
        window.record(started_s)
        in_flight.release()

    def on_error(_error) -> None:
        in_flight.release()

    def send_until(deadline_s: float) -> None:
        while time.perf_counter() < deadline_s:
            in_flight.acquire()
            started_s = time.perf_counter()
            future = producer.send(args.name, value=payload)
            future.add_callback(on_ack, started_s)
            future.add_errback(on_error)

    send_until(time.perf_counter() + args.warmup_s)
    window.open()
    send_until(window.start_s + args.duration_s)
    window.close()
    producer.close(timeout=FLUSH_TIMEOUT_S)
    return window.result()
