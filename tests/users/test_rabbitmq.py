"""Tests for the RabbitMQ users against a real RabbitMQ that this module starts."""

import json
import logging
import random
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
import pika
import pytest

import stack.rabbitmq
import users
from stack.process import port_in_use
from users.errors import ConfigError
from users.rabbitmq import RabbitMQOptions, masked_url
from users.run import RunContext, utc_now
from users.settings import Settings

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(
        not stack.rabbitmq.RABBITMQ_SERVER.exists(),
        reason="the Debian package rabbitmq-server is not installed; run "
        "stack/install_debian_brokers.sh as root",
    ),
]

REPO = Path(__file__).resolve().parents[2]
SERVICE = "RabbitMQ"
RETURN_WAIT_S = 60.0


def free_rabbitmq_port() -> int:
    """Return a free port whose Erlang distribution port (port + 20000) is free."""
    for _ in range(500):
        port = random.randint(20000, 40000)
        if not port_in_use(port) and not port_in_use(port + 20000):
            return port
    raise RuntimeError("No free port pair found on 127.0.0.1")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def amqp_url():
    """Start RabbitMQ for this module on a free port; stop it at the end."""
    # pytest's tmp_path sits under a folder only root may enter, and the rabbitmq
    # user must reach its data folder.
    state_dir = Path(tempfile.mkdtemp(prefix="msgload-rabbitmq-test-"))
    state_dir.chmod(0o755)
    port = free_rabbitmq_port()
    command = [
        sys.executable, "-m", "stack", "--services", "rabbitmq",
        "--state-dir", str(state_dir), "--rabbitmq-port", str(port),
    ]  # fmt: skip
    started = subprocess.run(
        [*command, "start"], capture_output=True, text=True, cwd=REPO
    )
    if started.returncode != 0:
        pytest.fail(f"rabbitmq did not start: {started.stdout}{started.stderr}")
    yield f"amqp://guest:guest@127.0.0.1:{port}/"
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


def rabbitmq_environment(url: str, queue: str, *args: str):
    return make_environment("--amqp-url", url, "--rabbitmq-queue", queue, *args)


class Producer(users.RabbitMQProducerUser):
    pass


class Consumer(users.RabbitMQConsumerUser):
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


def test_published_messages_all_consumed(amqp_url, requests):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = rabbitmq_environment(amqp_url, queue, "--batch-size", "10")
    producer = started(Producer, environment)
    consumer = started(Consumer, environment)

    for _ in range(20):
        producer.publish()
    drain(consumer, requests, 200)
    producer.on_stop()
    consumer.on_stop()

    service = counts(environment)
    assert successes(requests, f"basic.publish {queue}") == 200
    assert failures(requests) == []
    assert service.published == 200
    assert service.consumed_unique == 200
    assert successes(requests, f"end-to-end {queue}") == 200
    assert service.duplicates == 0
    assert service.out_of_order == 0
    assert service.lost == 0


def test_concurrent_users_keep_order(amqp_url, requests):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = rabbitmq_environment(amqp_url, queue, "--batch-size", "5")
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


def test_closed_port_reports_connection_refused(requests):
    url = f"amqp://guest:guest@127.0.0.1:{closed_port()}/"
    environment = rabbitmq_environment(url, "test-closed")
    producer = Producer(environment)
    consumer = Consumer(environment)

    publishing = gevent.spawn(lambda: (producer.on_start(), producer.publish()))
    consuming = gevent.spawn(lambda: (consumer.on_start(), consumer.consume()))
    gevent.joinall([publishing, consuming], timeout=RETURN_WAIT_S)

    assert publishing.successful()
    assert consuming.successful()
    codes = {event["exception"].code for event in failures(requests)}
    assert codes == {"ConnectionRefusedError"}
    assert len(named(requests, "basic.publish test-closed")) == 2
    assert len(named(requests, "basic.deliver test-closed")) == 2
    assert successes(requests, "") == 0


def test_silent_broker_times_out(requests):
    # A listening socket that never accepts: TCP connects, AMQP never responds.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        environment = rabbitmq_environment(
            f"amqp://guest:guest@127.0.0.1:{port}/",
            "test-silent",
            "--rabbitmq-connect-timeout-s",
            "0.5",
        )
        producer = Producer(environment)
        publishing = gevent.spawn(lambda: (producer.on_start(), producer.publish()))
        publishing.join(timeout=RETURN_WAIT_S)

    assert publishing.successful()
    codes = [event["exception"].code for event in failures(requests)]
    assert codes == ["AMQPConnectorStackTimeout", "AMQPConnectorStackTimeout"]
    assert successes(requests, "") == 0


def test_unroutable_message_fails_with_reply_code(amqp_url, requests):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = rabbitmq_environment(amqp_url, queue, "--batch-size", "1")
    producer = started(Producer, environment)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    connection.channel().queue_delete(queue)
    connection.close()

    producer.publish()
    producer.publish()
    producer.on_stop()

    codes = [event["exception"].code for event in failures(requests)]
    assert codes == ["312 NO_ROUTE", "312 NO_ROUTE"]
    assert counts(environment).published == 0


def test_password_never_logged(amqp_url, requests, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="pika")
    password = f"pw-{uuid.uuid4().hex}"
    url = amqp_url.replace("guest:guest", f"guest:{password}")
    environment = rabbitmq_environment(url, "test-password")

    producer = started(Producer, environment)
    producer.publish()

    failed = [event["exception"] for event in failures(requests)]
    assert [error.code for error in failed] == ["ProbableAuthenticationError"] * 2
    assert "ACCESS_REFUSED" in str(failed[0])
    assert caplog.records
    assert password not in caplog.text
    assert all(password not in str(event["exception"]) for event in requests)
    assert password not in masked_url(url)


def test_backlog_probe_reads_queue_depth(amqp_url, requests):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    environment = rabbitmq_environment(amqp_url, queue, "--batch-size", "10")
    settings = environment.msgload.settings
    producer = started(Producer, environment)
    key, probe = Producer.backlog_probe(settings, environment.msgload)

    producer.publish()
    producer.publish()
    producer.publish()
    before = probe()
    consumer = started(Consumer, environment)
    drain(consumer, requests, 30)
    consumer.on_stop()
    after = probe()
    producer.on_stop()

    assert key == f"RabbitMQ {queue}"
    assert before == [("RabbitMQ", queue, "queue_depth", 30)]
    assert after == [("RabbitMQ", queue, "queue_depth", 0)]


def options_for(*args: str):
    return locust.argument_parser.get_parser().parse_args(list(args))


@pytest.mark.parametrize(
    ("target", "args", "named_option"),
    [
        ("aws", [], "--amqp-url"),
        ("local", ["--amqp-url", "http://127.0.0.1:5672/"], "--amqp-url"),
        ("local", ["--rabbitmq-queue", ""], "--rabbitmq-queue"),
        ("local", ["--rabbitmq-publish-timeout-s", "0"], "--rabbitmq-publish"),
    ],
)
def test_check_settings_names_wrong_option(target, args, named_option):
    settings = SimpleNamespace(target=target, options=options_for(*args))

    with pytest.raises(ConfigError) as raised:
        Producer.check_settings(settings)

    assert named_option in str(raised.value)


def test_options_repr_hides_password():
    options = options_for("--amqp-url", "amqp://user:hunter2-pw@127.0.0.1:5672/")
    amqp = RabbitMQOptions.from_settings(
        SimpleNamespace(target="local", options=options)
    )

    assert "hunter2-pw" not in repr(amqp)
    assert masked_url(amqp.url) == "amqp://user:****@127.0.0.1:5672/"


def test_locustfile_headless_run(amqp_url, tmp_path):
    command = [
        str(Path(sys.executable).parent / "locust"),
        "-f", "locustfiles/rabbitmq.py", "--headless", "-u", "2", "-r", "2",
        "-t", "20s", "--drain-s", "8", "--publish-rate", "50",
        "--results-dir", str(tmp_path), "--amqp-url", amqp_url,
        "--rabbitmq-queue", f"test-{uuid.uuid4().hex[:8]}", "--skip-report",
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
