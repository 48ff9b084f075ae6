"""Fixtures shared by every test folder: the local brokers and Locust runs."""

import locust  # noqa: F401, I001 - gevent's monkey-patching before boto3 loads

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LOCUST = str(Path(sys.executable).parent / "locust")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class LocalStack:
    """moto and Tansu started for the test session on free loopback ports."""

    state_dir: Path
    moto_port: int
    kafka_port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def locust_args(self) -> list[str]:
        return [
            "--endpoint-url",
            self.endpoint_url,
            "--bootstrap-servers",
            self.bootstrap_servers,
        ]

    def stack(self, action: str) -> subprocess.CompletedProcess:
        command = [
            sys.executable, "-m", "stack", action, "--services", "moto,kafka",
            "--state-dir", str(self.state_dir),
            "--moto-port", str(self.moto_port), "--kafka-port", str(self.kafka_port),
        ]  # fmt: skip
        return subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory) -> LocalStack:
    """Start moto and Tansu once for the session; stop them by their pids."""
    stack = LocalStack(tmp_path_factory.mktemp("stack"), free_port(), free_port())
    started = stack.stack("start")
    if started.returncode != 0:
        pytest.fail(f"local brokers did not start: {started.stdout}{started.stderr}")
    yield stack
    stack.stack("stop")


def run_locust(args: list[str], cwd: Path, timeout_s: float = 240, env=None):
    """Run the locust command line with args in cwd and return the finished process."""
    environment = {**os.environ, "PYTHONWARNINGS": "default", **(env or {})}
    # A None value removes the variable.
    environment = {k: v for k, v in environment.items() if v is not None}
    return subprocess.run(
        [LOCUST, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout_s,
        env=environment,
    )


@pytest.fixture(scope="session")
def locust_run():
    return run_locust


@dataclass
class UserHarness:
    """A Locust environment with msgload's run state and a log of request events."""

    environment: object
    requests: list[dict]

    def successes(self, name: str) -> list[dict]:
        return [r for r in self.requests if r["name"] == name and not r["exception"]]

    def failures(self, name: str) -> list[dict]:
        return [r for r in self.requests if r["name"] == name and r["exception"]]


@pytest.fixture
def user_harness():
    """Return a factory: harness(user_classes, *args) with args as on the command
    line (for example "--endpoint-url", url)."""
    import locust.argument_parser
    from locust.env import Environment

    import users  # noqa: F401 - registers msgload's options
    from users.plugin import check_settings
    from users.run import RunContext, new_run_id, utc_now

    def build(user_classes: list, *args: str) -> UserHarness:
        options = locust.argument_parser.parse_options(args=["-f", "x.py", *args])
        environment = Environment(
            user_classes=user_classes, events=locust.events, parsed_options=options
        )
        started = utc_now()
        run = RunContext(new_run_id(started), "test", started)
        environment.msgload = run
        run.settings = check_settings(environment)
        requests: list[dict] = []
        environment.events.request.add_listener(lambda **event: requests.append(event))
        return UserHarness(environment, requests)

    yield build
    locust.events.request._handlers.clear()
