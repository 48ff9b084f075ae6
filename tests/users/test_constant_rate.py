"""Constant-rate producers report latency from each message's intended send time."""

import os
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import gevent
import gevent.pool
import pytest

from users.kafka import KafkaProducerUser

REPO = Path(__file__).resolve().parents[2]
RATE_PER_S = 50
BEFORE_STALL_S = 2.0
STALL_S = 2.0
AFTER_STALL_S = 4.0
STOP_WAIT_S = 15.0

pytestmark = pytest.mark.broker


class Producer(KafkaProducerUser):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_stack(action: str, port: int, state_dir: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "stack", action, "--services", "kafka",
        "--kafka-port", str(port), "--state-dir", str(state_dir),
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def tansu(tmp_path_factory):
    """Start a Tansu of this module's own; yield its bootstrap servers and pid."""
    port = free_port()
    state_dir = tmp_path_factory.mktemp("tansu-stall")
    started = run_stack("start", port, state_dir)
    if started.returncode != 0:
        pytest.fail(f"Tansu did not start: {started.stdout}{started.stderr}")
    pid = int((state_dir / "kafka.pid").read_text().split()[0])
    yield f"127.0.0.1:{port}", pid
    run_stack("stop", port, state_dir)


def run_through_stall(harness, pid: int) -> None:
    """Run one producer user, stall the broker for STALL_S in the middle, stop."""
    user = Producer(harness.environment)
    group = gevent.pool.Group()
    user.start(group)
    gevent.sleep(BEFORE_STALL_S)
    os.kill(pid, signal.SIGSTOP)
    try:
        # The producer's greenlets keep running, so only the broker stalls.
        gevent.sleep(STALL_S)
    finally:
        os.kill(pid, signal.SIGCONT)
    gevent.sleep(AFTER_STALL_S)
    user.stop(force=True)
    group.join(timeout=STOP_WAIT_S)


def producer_args(bootstrap_servers: str, rate: float) -> list[str]:
    return [
        "--bootstrap-servers", bootstrap_servers,
        "--topic", f"msgload-stall-{uuid.uuid4().hex[:8]}",
        "--publish-rate", str(rate),
        "--batch-size", "1",
        "--max-in-flight", "1",
    ]  # fmt: skip


def latencies_ms(harness, prefix: str) -> list[float]:
    return [
        r["response_time"]
        for r in harness.requests
        if r["name"].startswith(prefix) and not r["exception"]
    ]


def test_stall_shows_in_intended_latency(user_harness, tansu):
    bootstrap_servers, pid = tansu
    harness = user_harness([Producer], *producer_args(bootstrap_servers, RATE_PER_S))

    run_through_stall(harness, pid)

    intended = latencies_ms(harness, "intended-to-ack ")
    produce = latencies_ms(harness, "Produce ")
    assert max(intended) >= STALL_S * 1000
    # With one send in flight, the messages due during the stall are sent after
    # it. Their own publish latency looks normal, so only the intended-time
    # entry counts them as late.
    late_intended = sum(1 for value in intended if value >= 1000)
    late_produce = sum(1 for value in produce if value >= 1000)
    assert late_intended >= 10 * max(1, late_produce)


def test_closed_model_reports_no_intended_latency(user_harness, tansu):
    bootstrap_servers, pid = tansu
    harness = user_harness([Producer], *producer_args(bootstrap_servers, 0))

    run_through_stall(harness, pid)

    assert latencies_ms(harness, "Produce ")
    assert latencies_ms(harness, "intended-to-ack ") == []
