"""Tests for the RabbitMQ and ActiveMQ stand-ins that `python -m stack` starts."""

import ipaddress
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pika
import pytest
import stomp

import stack.activemq
import stack.rabbitmq
from stack import ActiveMQBroker, RabbitMQBroker, StackError, StateDir
from stack.__main__ import run_action
from stack.process import port_in_use

pytestmark = pytest.mark.broker

needs_rabbitmq = pytest.mark.skipif(
    not stack.rabbitmq.RABBITMQ_SERVER.exists(),
    reason="the Debian package rabbitmq-server is not installed; run "
    "stack/install_debian_brokers.sh as root",
)
needs_activemq = pytest.mark.skipif(
    not stack.activemq.ACTIVEMQ_JAR.exists() or shutil.which("java") is None,
    reason="the Debian package activemq or java is not installed; run "
    "stack/install_debian_brokers.sh as root",
)

PROCESS_EXIT_WAIT_S = 15.0
FRAME_WAIT_S = 10.0


def free_port(offset: int = 0) -> int:
    """Return a free port on 127.0.0.1 whose port + offset is free too."""
    for _ in range(500):
        port = random.randint(20000, 40000)
        if not port_in_use(port) and not port_in_use(port + offset):
            return port
    raise RuntimeError("No free port pair found on 127.0.0.1")


def new_state_dir() -> StateDir:
    # pytest's tmp_path sits under a folder only root may enter, and the rabbitmq
    # user must reach its data folder.
    path = Path(tempfile.mkdtemp(prefix="msgload-stack-test-"))
    path.chmod(0o755)
    return StateDir(path)


def descendants(pid: int) -> set[int]:
    """Return pid and every process below it, found through /proc's parent ids."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found = {pid}
    pending = [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.add(child)
            pending.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def listening_sockets(pids: set[int]) -> list[tuple[str, int, str]]:
    """Return (address, port, program) for every TCP listener owned by pids."""
    output = subprocess.run(
        ["ss", "-ltnpH"], capture_output=True, text=True, check=True
    ).stdout
    sockets = []
    for line in output.splitlines():
        fields = line.split()
        address, _, port = fields[3].rpartition(":")
        for program, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            if int(pid) in pids:
                sockets.append((address.strip("[]"), int(port), program))
    return sockets


def stop_and_remove(state: StateDir) -> None:
    for name in ("activemq", "rabbitmq"):
        state.stop(name)
    shutil.rmtree(state.path, ignore_errors=True)


@pytest.fixture(scope="module")
def rabbitmq():
    state = new_state_dir()
    broker = RabbitMQBroker(
        port=free_port(stack.rabbitmq.DIST_PORT_OFFSET), epmd_port=free_port()
    )
    broker.start(state)
    yield broker, state
    stop_and_remove(state)


@pytest.fixture(scope="module")
def activemq():
    state = new_state_dir()
    broker = ActiveMQBroker(port=free_port())
    broker.start(state)
    yield broker, state
    stop_and_remove(state)


@pytest.fixture
def state():
    state = new_state_dir()
    yield state
    stop_and_remove(state)


@needs_rabbitmq
def test_rabbitmq_publish_consume_round_trip(rabbitmq):
    broker, _ = rabbitmq
    queue = f"msgload-test-{uuid.uuid4().hex[:8]}"
    body = b"round trip"
    connection = pika.BlockingConnection(
        pika.ConnectionParameters(host="127.0.0.1", port=broker.port)
    )
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare(queue=queue)

    channel.basic_publish(exchange="", routing_key=queue, body=body, mandatory=True)
    method, _, received = channel.basic_get(queue=queue, auto_ack=True)

    channel.queue_delete(queue=queue)
    connection.close()
    assert method is not None
    assert received == body


@needs_rabbitmq
def test_rabbitmq_listens_only_on_loopback(rabbitmq):
    broker, state = rabbitmq
    pids = descendants(state.running_pid("rabbitmq"))

    sockets = listening_sockets(pids)

    ports = {port for _, port, _ in sockets}
    assert broker.port in ports
    assert broker.dist_port in ports
    assert broker.epmd_port in ports
    for address, port, program in sockets:
        assert ipaddress.ip_address(address).is_loopback, (address, port, program)


@needs_rabbitmq
def test_rabbitmq_second_start_is_harmless(rabbitmq):
    broker, state = rabbitmq
    pid = state.running_pid("rabbitmq")

    message = broker.start(state)

    assert message == f"rabbitmq already running on 127.0.0.1:{broker.port}"
    assert state.running_pid("rabbitmq") == pid


@needs_rabbitmq
def test_rabbitmq_port_in_use_names_port(state):
    port = free_port(stack.rabbitmq.DIST_PORT_OFFSET)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        broker = RabbitMQBroker(port=port, epmd_port=free_port())

        with pytest.raises(StackError) as raised:
            broker.start(state)

    assert f"Port {port} " in str(raised.value)
    assert "--rabbitmq-port" in str(raised.value)
    assert state.running_pid("rabbitmq") is None


@needs_rabbitmq
def test_rabbitmq_dist_port_in_use_names_port(state):
    port = free_port(stack.rabbitmq.DIST_PORT_OFFSET)
    broker = RabbitMQBroker(port=port, epmd_port=free_port())
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", broker.dist_port))
        holder.listen()

        with pytest.raises(StackError) as raised:
            broker.start(state)

    assert f"Port {broker.dist_port} " in str(raised.value)
    assert "--rabbitmq-port" in str(raised.value)
    assert state.running_pid("rabbitmq") is None


@needs_rabbitmq
def test_rabbitmq_stop_ends_started_processes(state):
    broker = RabbitMQBroker(
        port=free_port(stack.rabbitmq.DIST_PORT_OFFSET), epmd_port=free_port()
    )
    broker.start(state)
    started = descendants(state.running_pid("rabbitmq"))
    programs = {program for _, _, program in listening_sockets(started)}

    stopped = state.stop("rabbitmq")

    assert stopped is True
    assert programs == {"beam.smp", "epmd"}
    assert wait_until_gone(started) == set()
    assert not listening(broker.epmd_port)


@needs_rabbitmq
def test_rabbitmq_stop_keeps_existing_epmd(state):
    epmd_port = free_port()
    existing_epmd = subprocess.Popen(
        ["epmd", "-address", "127.0.0.1", "-port", str(epmd_port)]
    )
    try:
        wait_until_listening(epmd_port)
        broker = RabbitMQBroker(
            port=free_port(stack.rabbitmq.DIST_PORT_OFFSET), epmd_port=epmd_port
        )
        broker.start(state)
        started = descendants(state.running_pid("rabbitmq"))
        programs = {program for _, _, program in listening_sockets(started)}

        state.stop("rabbitmq")

        assert programs == {"beam.smp"}
        assert wait_until_gone(started) == set()
        assert existing_epmd.poll() is None
    finally:
        existing_epmd.terminate()
        existing_epmd.wait()


class RecordingListener(stomp.ConnectionListener):
    """Record the receipts and message bodies a STOMP connection gets."""

    def __init__(self) -> None:
        self.receipts: list[str] = []
        self.bodies: list[str] = []
        self.receipt_received = threading.Event()
        self.message_received = threading.Event()

    def on_receipt(self, frame) -> None:
        self.receipts.append(frame.headers["receipt-id"])
        self.receipt_received.set()

    def on_message(self, frame) -> None:
        self.bodies.append(frame.body)
        self.message_received.set()


@needs_activemq
def test_activemq_send_receive_round_trip(activemq):
    broker, _ = activemq
    destination = f"/queue/msgload-test-{uuid.uuid4().hex[:8]}"
    connection = stomp.Connection12([("127.0.0.1", broker.port)])
    listener = RecordingListener()
    connection.set_listener("test", listener)
    connection.connect(wait=True)

    connection.send(destination, "round trip", receipt="sent")
    listener.receipt_received.wait(FRAME_WAIT_S)
    connection.subscribe(destination, id="test", ack="auto")
    listener.message_received.wait(FRAME_WAIT_S)

    connection.disconnect()
    assert listener.receipts == ["sent"]
    assert listener.bodies == ["round trip"]


@needs_activemq
def test_activemq_listens_only_on_loopback(activemq):
    broker, state = activemq
    pids = descendants(state.running_pid("activemq"))

    sockets = listening_sockets(pids)

    assert [port for _, port, _ in sockets] == [broker.port]
    for address, port, program in sockets:
        assert ipaddress.ip_address(address).is_loopback, (address, port, program)


@needs_activemq
def test_activemq_second_start_is_harmless(activemq):
    broker, state = activemq
    pid = state.running_pid("activemq")

    message = broker.start(state)

    assert message == f"activemq already running on 127.0.0.1:{broker.port}"
    assert state.running_pid("activemq") == pid


@needs_activemq
def test_activemq_port_in_use_names_port(state):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        with pytest.raises(StackError) as raised:
            ActiveMQBroker(port=port).start(state)

    assert f"Port {port} " in str(raised.value)
    assert "--activemq-port" in str(raised.value)
    assert state.running_pid("activemq") is None


@needs_activemq
def test_activemq_stop_ends_started_processes(state):
    broker = ActiveMQBroker(port=free_port())
    broker.start(state)
    started = descendants(state.running_pid("activemq"))

    stopped = state.stop("activemq")

    assert stopped is True
    assert wait_until_gone(started) == set()


def test_rabbitmq_port_too_high_rejected(state):
    broker = RabbitMQBroker(port=50000)

    with pytest.raises(StackError) as raised:
        broker.start(state)

    assert "70000" in str(raised.value)
    assert "up to 45535" in str(raised.value)


def test_missing_package_is_skipped_with_reason(monkeypatch, capsys):
    monkeypatch.setattr(stack.rabbitmq, "RABBITMQ_SERVER", Path("/nonexistent"))
    monkeypatch.setattr(stack.activemq, "ACTIVEMQ_JAR", Path("/nonexistent"))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    brokers = [RabbitMQBroker(), ActiveMQBroker()]

    status = run_action("start", brokers, StateDir("/nonexistent/state"))

    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0].startswith("rabbitmq skipped: the Debian package rabbitmq-server")
    assert lines[1].startswith("activemq skipped: the Debian package activemq")
    assert "install_debian_brokers.sh" in lines[0]


def wait_until_gone(pids: set[int]) -> set[int]:
    """Wait for pids to exit, then return any still alive after PROCESS_EXIT_WAIT_S."""
    deadline = time.monotonic() + PROCESS_EXIT_WAIT_S
    while time.monotonic() < deadline:
        remaining = {pid for pid in pids if alive(pid)}
        if not remaining:
            return remaining
        time.sleep(0.1)
    return {pid for pid in pids if alive(pid)}


def listening(port: int) -> bool:
    try:
        stack.rabbitmq.require_listener(port)
    except ConnectionRefusedError:
        return False
    return True


def wait_until_listening(port: int) -> None:
    deadline = time.monotonic() + PROCESS_EXIT_WAIT_S
    while not listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
