"""Fixtures for the analysis tests: fixture paths and a moto server on loopback."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
MOTO_START_TIMEOUT_S = 30.0


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def scaling_run(tmp_path: Path) -> Path:
    """Return a writable copy of the scaling run folder."""
    run_dir = tmp_path / "20261204T151700Z-autoscaling"
    shutil.copytree(FIXTURES / "run_scaling", run_dir)
    return run_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url():
    """Start `moto_server` on a free 127.0.0.1 port and stop it by its pid."""
    port = _free_port()
    moto_server = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen(
        [str(moto_server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + MOTO_START_TIMEOUT_S
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                os.kill(process.pid, signal.SIGTERM)
                pytest.fail(f"moto_server did not start on {url}")
            time.sleep(0.2)
    yield url
    os.kill(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch):
    """Give boto3 fake credentials and no way to reach instance metadata."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
