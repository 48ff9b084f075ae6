"""Tests for the ActiveMQ users against a real ActiveMQ that this module starts."""

import json
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace

import gevent
import gevent.event
import locust
import locust.argument_parser
import locust.env
import pytest

import stack.activemq
import users
from users.activemq import StompOptions
from users.errors import ConfigError
from users.run import RunContext, utc_now
from users.settings import Settings

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not stack.activemq.ACTIVEMQ_JAR.exists() or shutil.which("java") is None,
        reason="the Debian package activemq or java is not installed; run "
        "stack/install_debian_brokers.sh as root",
    ),
]

REPO = Path(__file__).resolve().parents[2]
SERVICE = "ActiveMQ"
RETURN_WAIT_S = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def stomp_port():
    """Start ActiveMQ for this module on a free port; stop it at the end."""
    state_dir = Path(tempfile.mkdtemp(prefix="msgload-activemq-test-"))
    state_dir.chmod(0o755)
    port = free_port()
    command = [
        sys.executable, "-m", "stack", "--services", "activemq",
        "--state-dir", str(state_dir), "--activemq-port", str(port),
    ]  # fmt: skip
    started = subprocess.run(
        [*command, "start"], capture_output=True, text=True, cwd=REPO
    )
    if started.returncode != 0:
        pytest.fail(f"activemq did not start: {started.stdout}{started.stderr}")
    yield port
    subprocess.run([*command, "stop"], capture_output=True, cwd=REPO)
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def requests():
    """Every request event fired while the test runs."""
    fired: list[dict] = []

    def record(**event):
        fired.append(event)

    locust.events.request.add_listener(record)
    yield fired
    locust.events.request.remove_listener(record)


def make_environment(*args: str):
    """Return a Locust environment with a msgload run parsed from args."""
    options = locust.argument_parser.get_parser().parse_args(list(args))
    environment = locust.env.Environment(user_classes=[], events=locust.events)
    run = RunContext(f"test-{uuid.uuid4().hex[:6]}", "test", utc_now())
    run.settings = Settings.from_options(options)
    environment.msgload = run
    return environment


def activemq_environment(port: int, queue: str, *args: str):
    return make_environment("--stomp-port", str(port), "--activemq-queue", queue, *args)


class Producer(users.ActiveMQProducerUser):
    pass


class Consumer(users.ActiveMQConsumerUser):
    pass


def started(user_class, environment):
    user = user_class(environment)
    user.on_start()
    return user


def named(requests: list[dict], prefix: str) -> list[dict]:
    return [event for event in requests if event["name"].startswith(prefix)]


def successes(requests: list[dict], prefix: str) -> int:
    return sum(1 for event in named(requests, prefix) if event["exception"] is None)


def failures(requests: list[dict]) -> list[dict]:
    return [event for event in requests if event["exception"] is not None]


def drain(consumer, requests: list[dict], expected: int) -> None:
    """Consume until expected end-to-end samples or three empty receives in a row."""
    empty_in_a_row = 0
    while successes(requests, "end-to-end") < expected and empty_in_a_row < 3:
        before = successes(requests, "end-to-end")
        consumer.consume()
        empty = successes(requests, "end-to-end") == before
        empty_in_a_row = empty_in_a_row + 1 if empty else 0


def counts(environment):
    ledger = environment.msgload.ledger
    ledger.merge_own()
    return ledger.services[SERVICE]


def new_queue() -> str:
    return f"/queue/test-{uuid.uuid4().hex[:8]}"


def test_published_messages_all_consumed(stomp_port, requests):
    queue = new_queue()
    environment = activemq_environment(stomp_port, queue, "--batch-size", "10")
    producer = started(Producer, environment)
    consumer = started(Consumer, environment)

    for _ in range(20):
        producer.publish()
    drain(consumer, requests, 200)
    producer.on_stop()
    consumer.on_stop()

    service = counts(environment)
    assert successes(requests, f"SEND {queue}") == 200
    assert failures(requests) == []
    assert service.published == 200
    assert service.consumed_unique == 200
    assert successes(requests, f"end-to-end {queue}") == 200
    assert service.duplicates == 0
    assert service.out_of_order == 0
    assert service.lost == 0


def test_concurrent_users_keep_order(stomp_port, requests):
    queue = new_queue()
    environment = activemq_environment(stomp_port, queue, "--batch-size", "5")
    producers = [started(Producer, environment) for _ in range(3)]
    consumers = [started(Consumer, environment) for _ in range(2)]

    def publish_all(producer):
        for _ in range(20):
            producer.publish()

    def consume_until(consumer, stop):
        while not stop.is_set():
            consumer.consume()

    stop = gevent.event.Event()
    consuming = [gevent.spawn(consume_until, c, stop) for c in consumers]
    gevent.joinall([gevent.spawn(publish_all, p) for p in producers])
    drain(consumers[0], requests, 300)
    stop.set()
    gevent.joinall(consuming)
    for user in [*producers, *consumers]:
        user.on_stop()

    service = counts(environment)
    assert failures(requests) == []
    assert service.published == 300
    assert service.consumed_unique == 300
    assert successes(requests, f"end-to-end {queue}") == 300
    assert service.duplicates == 0
    assert service.out_of_order == 0


def test_closed_port_reports_connect_failed(requests):
    environment = activemq_environment(free_port(), "/queue/test-closed")
    producer = Producer(environment)
    consumer = Consumer(environment)

    publishing = gevent.spawn(lambda: (producer.on_start(), producer.publish()))
    consuming = gevent.spawn(lambda: (consumer.on_start(), consumer.consume()))
    gevent.joinall([publishing, consuming], timeout=RETURN_WAIT_S)

    assert publishing.successful()
    assert consuming.successful()
    codes = {event["exception"].code for event in failures(requests)}
    assert codes == {"ConnectFailedException"}
    assert len(named(requests, "SEND /queue/test-closed")) == 2
    assert len(named(requests, "MESSAGE /queue/test-closed")) == 2
    assert successes(requests, "") == 0


def test_silent_broker_times_out(requests):
    # A listening socket that never accepts: TCP connects, STOMP never responds.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        environment = activemq_environment(
            silent.getsockname()[1],
            "/queue/test-silent",
            "--activemq-connect-timeout-s",
            "0.5",
        )
        producer = Producer(environment)
        publishing = gevent.spawn(lambda: (producer.on_start(), producer.publish()))
        publishing.join(timeout=RETURN_WAIT_S)

    assert publishing.successful()
    codes = [event["exception"].code for event in failures(requests)]
    assert codes == ["ConnectTimeout", "ConnectTimeout"]
    assert successes(requests, "") == 0


class BadTransactionProducer(users.ActiveMQProducerUser):
    send_headers = {"transaction": "no-such-transaction"}


def test_error_frame_fails_with_message(stomp_port, requests):
    queue = new_queue()
    environment = activemq_environment(stomp_port, queue, "--batch-size", "1")
    producer = started(BadTransactionProducer, environment)

    producer.publish()
    producer.on_stop()

    codes = [event["exception"].code for event in failures(requests)]
    assert codes == ["Invalid transaction id: no-such-transaction"]
    assert counts(environment).published == 0


def test_password_never_logged(stomp_port, requests, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="stomp.py")
    password = f"pw,'{uuid.uuid4().hex}\\n"
    queue = new_queue()
    environment = activemq_environment(
        stomp_port, queue, "--stomp-user", "msgload", "--stomp-password", password
    )

    producer = started(Producer, environment)
    producer.publish()
    producer.on_stop()

    assert successes(requests, f"SEND {queue}") == 10
    assert "CONNECT" in caplog.text
    assert password not in caplog.text
    assert password[4:-2] not in caplog.text
    assert password not in repr(
        StompOptions.from_settings(environment.msgload.settings)
    )


def options_for(*args: str):
    return locust.argument_parser.get_parser().parse_args(list(args))


@pytest.mark.parametrize(
    ("target", "args", "named_option"),
    [
        ("aws", [], "--stomp-host"),
        ("local", ["--activemq-queue", "msgload"], "--activemq-queue"),
        ("local", ["--stomp-port", "0"], "--stomp-port"),
        ("local", ["--activemq-receive-timeout-s", "0"], "--activemq-receive"),
    ],
)
def test_check_settings_names_wrong_option(target, args, named_option):
    settings = SimpleNamespace(target=target, options=options_for(*args))

    with pytest.raises(ConfigError) as raised:
        Producer.check_settings(settings)

    assert named_option in str(raised.value)


def test_locustfile_headless_run(stomp_port, tmp_path):
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f", "locustfiles/activemq.py", "--headless", "-u", "2", "-r", "2",
        "-t", "20s", "--drain-s", "8", "--publish-rate", "50",
        "--results-dir", str(tmp_path), "--stomp-port", str(stomp_port),
        "--activemq-queue", new_queue(), "--skip-report",
    ]  # fmt: skip
    finished = subprocess.run(
        command, capture_output=True, text=True, cwd=REPO, timeout=180
    )

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "msgload summary" in finished.stdout
    (run_json,) = tmp_path.glob("*/run.json")
    summary = json.loads(run_json.read_text())["services"][SERVICE]
    assert summary["published"] > 0
    assert summary["end_to_end_samples"] == summary["consumed"]
    assert summary["consumed"] == summary["published"]
    assert summary["lost"] == 0
    assert summary["failures"] == 0
    assert summary["duplicates"] == 0
    assert summary["out_of_order"] == 0
