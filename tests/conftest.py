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
