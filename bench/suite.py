"""msgload's producer users measured in one Locust process, the way a worker runs them.

The user runs in Locust's environment with a local runner, so every request event
goes through Locust's stats as in a real run. The plugin's backlog sampler is not
started, as on a worker. The window's numbers come from the Locust stats entry.
"""

import locust  # noqa: I001 - gevent's monkey-patching before boto3 loads

import statistics
import time

import gevent
import gevent.pool
import locust.argument_parser
from kafka import KafkaProducer
from locust.env import Environment

import users  # noqa: F401 - registers msgload's options and listeners
from bench.config import KAFKA_PRODUCER_CONFIG, KAFKA_SUITE_ARGUMENTS
from bench.kafka_raw import create_topic
from users.envelope import STAMP_ATTRIBUTE
from users.kafka import KafkaProducerUser
from users.plugin import check_settings
from users.run import RunContext, new_run_id, utc_now
from users.sqs import SqsProducerUser

__all__ = ["run_kafka_suite", "run_sqs_suite"]

STAMP_SAMPLES = 1_000
STAMP_REPEATS = 5
STOP_WAIT_S = 15.0


class BenchKafkaProducer(KafkaProducerUser):
    """msgload's Kafka producer user as a scenario would declare it."""


class BenchSqsProducer(SqsProducerUser):
    """msgload's SQS producer user as a scenario would declare it."""


def _environment(user_class, arguments: list[str]) -> Environment:
    options = locust.argument_parser.parse_options(args=["-f", "bench", *arguments])
    environment = Environment(
        user_classes=[user_class], events=locust.events, parsed_options=options
    )
    started = utc_now()
    run = RunContext(new_run_id(started), "bench", started)
    environment.msgload = run
    run.settings = check_settings(environment)
    environment.create_local_runner()
    return environment


def _measure(environment, user, request_type: str, name: str, args) -> dict:
    """Run user through the warm-up and the window; return the window's result."""
    group = gevent.pool.Group()
    user.start(group)
    gevent.sleep(args.warmup_s)
    stats = environment.runner.stats
    stats.reset_all()
    cpu_start_s = time.process_time()
    start_s = time.perf_counter()
    gevent.sleep(args.duration_s)
    elapsed_s = time.perf_counter() - start_s
    cpu_s = time.process_time() - cpu_start_s
    entry = stats.entries.get((name, request_type))
    result = {"messages": 0, "elapsed_s": elapsed_s, "cpu_s": cpu_s}
    if entry is not None and entry.num_requests > entry.num_failures:
        result["messages"] = entry.num_requests - entry.num_failures
        result["p50_ms"] = entry.get_response_time_percentile(0.50)
        result["p99_ms"] = entry.get_response_time_percentile(0.99)
    user.stop(force=True)
    group.join(timeout=STOP_WAIT_S)
    return result


def run_kafka_suite(args) -> dict:
    """Measure msgload's Kafka producer user, then the CPU its stamp costs."""
    create_topic(args.bootstrap_servers, args.name)
    arguments = [
        "--bootstrap-servers", args.bootstrap_servers,
        "--topic", args.name,
        "--batch-size", str(args.batch_size),
        "--max-in-flight", str(args.max_in_flight),
        "--message-size-bytes", str(args.message_size_bytes),
        *KAFKA_SUITE_ARGUMENTS,
    ]  # fmt: skip
    environment = _environment(BenchKafkaProducer, arguments)
    user = BenchKafkaProducer(environment)
    result = _measure(environment, user, "Kafka", f"Produce {args.name}", args)
    result["stamp_cpu_us"] = stamp_cpu_us(user, args)
    return result


def stamp_cpu_us(user, args) -> float:
    """Return the CPU microseconds the end-to-end stamp adds to one Kafka send.

    That is msgload's part (the stamp, its header, the ledger entry on the
    acknowledgement) plus kafka-python's part (encoding a record with the header
    against one without). The producer never yields here, so its sender does not
    run and only the send calls are timed.
    """
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap_servers, **KAFKA_PRODUCER_CONFIG
    )
    payload = user.payload
    producer.send(args.name, value=payload).get(timeout=STOP_WAIT_S)
    headers = [(STAMP_ATTRIBUTE, user.next_stamp().encode().encode())]

    def stamp_and_record() -> None:
        stamp = user.next_stamp()
        [(STAMP_ATTRIBUTE, stamp.encode().encode())]
        user.run.ledger.record_acked(user.service, stamp, 0.0)

    own_us = _cpu_us_per_call(stamp_and_record)
    # Alternating the two kinds of send evens out the cost of growing batches.
    with_header_us, without_header_us = [], []
    for _ in range(STAMP_REPEATS):
        with_header_us.append(
            _cpu_us_per_call(
                lambda: producer.send(args.name, value=payload, headers=headers)
            )
        )
        without_header_us.append(
            _cpu_us_per_call(lambda: producer.send(args.name, value=payload))
        )
    producer.close(timeout=STOP_WAIT_S)
    header_us = statistics.median(with_header_us) - statistics.median(without_header_us)
    return own_us + max(0.0, header_us)


def _cpu_us_per_call(call) -> float:
    started_s = time.process_time()
    for _ in range(STAMP_SAMPLES):
        call()
    return (time.process_time() - started_s) / STAMP_SAMPLES * 1e6


def run_sqs_suite(args) -> dict:
    """Measure msgload's SQS producer user sending one message per call."""
    arguments = [
        "--endpoint-url", args.endpoint_url,
        "--queue-name", args.name,
        "--batch-size", "1",
        "--message-size-bytes", str(args.message_size_bytes),
    ]  # fmt: skip
    environment = _environment(BenchSqsProducer, arguments)
    user = BenchSqsProducer(environment)
    return _measure(environment, user, "SQS", f"SendMessage {args.name}", args)
