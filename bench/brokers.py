"""The bench's own local brokers: moto and Tansu on free loopback ports."""

import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BenchBrokers", "free_port"]

STACK_TIMEOUT_S = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class BenchBrokers:
    """moto and Tansu started through `python -m stack` in state_dir, stopped by
    the pids recorded there."""

    state_dir: Path
    repo: Path
    moto_port: int = 0
    kafka_port: int = 0

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.moto_port}"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    def stack(self, action: str) -> subprocess.CompletedProcess:
        command = [
            sys.executable, "-m", "stack", action, "--services", "moto,kafka",
            "--state-dir", str(self.state_dir),
            "--moto-port", str(self.moto_port), "--kafka-port", str(self.kafka_port),
        ]  # fmt: skip
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.repo,
            timeout=STACK_TIMEOUT_S,
        )

    def start(self) -> None:
        self.moto_port = self.moto_port or free_port()
        self.kafka_port = self.kafka_port or free_port()
        started = self.stack("start")
        if started.returncode != 0:
            raise RuntimeError(
                f"The bench's brokers did not start: {started.stdout}{started.stderr}"
            )

    def stop(self) -> None:
        self.stack("stop")
