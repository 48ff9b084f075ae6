"""locust-plugins' KafkaUser, measured as a peer of msgload's Kafka user.

It runs only where bench.peer_packages installed locust-plugins and
confluent-kafka (on PYTHONPATH, never in msgload's own environment). Its client
takes only the bootstrap servers, so it sends with confluent-kafka's defaults and
polls the producer after every send, as locust-plugins 5.0.3 does.
"""

import locust  # noqa: I001 - gevent's monkey-patching first

import time

import gevent
import gevent.pool
import locust.argument_parser
from locust import constant, task
from locust.env import Environment
from locust_plugins.users.kafka import KafkaUser

from bench.kafka_raw import create_topic

__all__ = ["run_peer"]

STOP_WAIT_S = 15.0
PEER_REQUEST_TYPE = "ENQUEUE"


def run_peer(args) -> dict:
    """Measure one KafkaUser sending args.message_size_bytes records to args.name."""
    create_topic(args.bootstrap_servers, args.name)
    payload = b"x" * args.message_size_bytes

    class PeerProducer(KafkaUser):
        bootstrap_servers = args.bootstrap_servers
        wait_time = constant(0)

        @task
        def send(self) -> None:
            self.client.send(args.name, payload)

    options = locust.argument_parser.parse_options(args=["-f", "bench"])
    environment = Environment(
        user_classes=[PeerProducer], events=locust.events, parsed_options=options
    )
    runner = environment.create_local_runner()
    group = gevent.pool.Group()
    user = PeerProducer(environment)
    user.start(group)
    gevent.sleep(args.warmup_s)
    runner.stats.reset_all()
    cpu_start_s = time.process_time()
    start_s = time.perf_counter()
    gevent.sleep(args.duration_s)
    result = {
        "elapsed_s": time.perf_counter() - start_s,
        "cpu_s": time.process_time() - cpu_start_s,
        "messages": 0,
    }
    entry = runner.stats.entries.get((args.name, PEER_REQUEST_TYPE))
    if entry is not None:
        result["messages"] = entry.num_requests - entry.num_failures
        result["p50_ms"] = entry.get_response_time_percentile(0.50)
        result["p99_ms"] = entry.get_response_time_percentile(0.99)
    user.stop(force=True)
    group.join(timeout=STOP_WAIT_S)
    return result
