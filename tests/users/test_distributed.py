"""Distributed runs on loopback: a master and worker processes of the real locust
command line, against the session's local brokers."""

import ast
import json
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).parent / "locust")

pytestmark = pytest.mark.broker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_distributed(scenario: str, master_args: list[str], cwd: Path, workers=2):
    """Start a headless master waiting for `workers` workers, and the workers."""
    locustfile = str(REPO / "locustfiles" / f"{scenario}.py")
    port = str(free_port())
    master = subprocess.Popen(
        [
            LOCUST,
            "-f",
            locustfile,
            "--master",
            "--headless",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--expect-workers",
            str(workers),
            "--expect-workers-max-wait",
            "60",
            "--results-dir",
            str(cwd / "results"),
            "--skip-report",
            *master_args,
        ],  # fmt: skip
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker_command = [
        LOCUST, "-f", locustfile, "--worker", "--master-host", "127.0.0.1",
        "--master-port", port,
    ]  # fmt: skip
    started = [
        subprocess.Popen(
            worker_command,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(workers)
    ]
    return master, started


def finish(master, workers, timeout_s: float = 180):
    """Wait for the master, then the workers; return the master's output and the
    workers' logs."""
    try:
        master_out, master_err = master.communicate(timeout=timeout_s)
    finally:
        worker_logs = []
        for worker in workers:
            try:
                worker_logs.append(worker.communicate(timeout=60)[1])
            except subprocess.TimeoutExpired:
                worker.kill()
                worker_logs.append(worker.communicate()[1])
    return master_out, master_err, worker_logs


def run_json(cwd: Path) -> dict:
    (run_dir,) = (cwd / "results").iterdir()
    return json.loads((run_dir / "run.json").read_text())


def worker_totals(log: str) -> dict:
    match = re.search(r"Worker totals sent to the master: (\{.*\})", log)
    assert match, log[-2000:]
    return ast.literal_eval(match.group(1))


def test_master_totals_equal_sum_of_workers(local_stack, tmp_path):
    master, workers = start_distributed(
        "compare",
        [
            "-t",
            "25s",
            "--drain-s",
            "10",
            "--publish-rate",
            "40",
            "--brokers",
            "moto,kafka",
            "--gate-min-messages-per-s",
            "1000000",
            *local_stack.locust_args,
        ],  # fmt: skip
        tmp_path,
    )
    master_out, master_err, worker_logs = finish(master, workers)

    services = run_json(tmp_path)["services"]
    totals = [worker_totals(log) for log in worker_logs]
    for service in ("SQS", "Kafka"):
        row = services[service]
        published = sum(t.get(service, {}).get("published", 0) for t in totals)
        deliveries = sum(t.get(service, {}).get("deliveries", 0) for t in totals)
        assert published > 0
        assert row["published"] == published
        assert row["consumed"] + row["duplicates"] == deliveries
        assert row["end_to_end_samples"] == deliveries
        assert row["lost"] == 0, (service, row, totals, master_err[-6000:])
    assert master.returncode == 1, master_err[-2000:]
    assert "FAIL  messages/s (SQS)" in master_out


def test_lost_worker_fails_the_run(local_stack, tmp_path):
    master, workers = start_distributed(
        "sqs",
        [
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "20s",
            "--drain-s",
            "5",
            "--publish-rate",
            "20",
            *local_stack.locust_args,
        ],  # fmt: skip
        tmp_path,
    )
    time.sleep(8)
    workers[0].kill()
    master_out, master_err, _ = finish(master, workers)

    assert master.returncode == 1, master_err[-3000:]
    assert "FAIL  workers lost:" in master_out
    lost = run_json(tmp_path)["workers"]["lost"]
    assert len(lost) == 1
    assert lost[0] in master_out


def test_kinesis_shards_read_on_any_worker_layout(local_stack, tmp_path):
    """Locust may put both Kinesis consumers on one worker; all shards are read."""
    master, workers = start_distributed(
        "kinesis",
        [
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "25s",
            "--drain-s",
            "10",
            "--publish-rate",
            "20",
            "--shards",
            "4",
            "--stream-name",
            "test-kinesis-workers",
            *local_stack.locust_args,
        ],  # fmt: skip
        tmp_path,
    )
    _, master_err, _ = finish(master, workers, timeout_s=150)

    assert master.returncode == 0, master_err[-3000:]
    row = run_json(tmp_path)["services"]["Kinesis"]
    assert row["published"] > 0
    assert row["lost"] == 0
    assert row["consumed"] == row["published"]
    assert row["duplicates"] == 0
