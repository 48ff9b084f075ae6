"""Run-level behaviour of the plugin: bad options, AWS credentials, distributed runs
and gates, each through the real locust command line."""

import ast
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
SQS_SCENARIO = str(REPO / "locustfiles" / "sqs.py")
COMPARE_SCENARIO = str(REPO / "locustfiles" / "compare.py")
LOCUST = str(Path(sys.executable).parent / "locust")


def test_bad_option_stops_before_first_request(local_stack, locust_run, tmp_path):
    queue = "never-created"
    finished = locust_run(
        [
            "-f",
            SQS_SCENARIO,
            "--headless",
            "-t",
            "30s",
            "--batch-size",
            "11",
            "--queue-name",
            queue,
            "--results-dir",
            str(tmp_path),
            *local_stack.locust_args,
        ],  # fmt: skip
        cwd=tmp_path,
    )

    assert finished.returncode == 2
    expected = "--batch-size must be between 1 and 10 for SQS SendMessageBatch"
    assert f"{expected} (got 11)." in finished.stderr
    assert "Traceback" not in finished.stderr
    (run_dir,) = tmp_path.iterdir()
    document = json.loads((run_dir / "run.json").read_text())
    assert document["config_error"].startswith("--batch-size must be")
    sqs = boto3.client(
        "sqs",
        endpoint_url=local_stack.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert queue not in str(sqs.list_queues().get("QueueUrls", []))


def test_aws_target_without_credentials_says_how_to_fix(locust_run, tmp_path):
    no_credentials = {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": None,
        "AWS_SECRET_ACCESS_KEY": None,
        "AWS_SESSION_TOKEN": None,
        "AWS_PROFILE": None,
        "AWS_REGION": "eu-west-1",
    }
    finished = locust_run(
        [
            "-f",
            SQS_SCENARIO,
            "--headless",
            "-t",
            "30s",
            "--target",
            "aws",
            "--results-dir",
            str(tmp_path),
        ],  # fmt: skip
        cwd=tmp_path,
        env=no_credentials,
    )

    assert finished.returncode == 2
    assert "No AWS credentials found for --target aws" in finished.stderr
    assert "--target local" in finished.stderr


def test_master_host_with_port_is_rejected(locust_run, tmp_path):
    finished = locust_run(
        ["-f", SQS_SCENARIO, "--worker", "--master-host", "127.0.0.1:5557"],
        cwd=tmp_path,
        timeout_s=60,
    )

    assert finished.returncode == 2
    assert "--master-host must be a host name without a port" in finished.stderr
    assert "--master-port" in finished.stderr


def _worker_totals(log: str) -> dict:
    match = re.search(r"Worker totals sent to the master: (\{.*\})", log)
    assert match, log[-2000:]
    return ast.literal_eval(match.group(1))


@pytest.mark.broker
def test_master_totals_equal_sum_of_workers(local_stack, tmp_path):
    port = str(_free_port())
    master = subprocess.Popen(
        [
            LOCUST,
            "-f",
            COMPARE_SCENARIO,
            "--master",
            "--headless",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "60",
            "-t",
            "25s",
            "--drain-s",
            "10",
            "--publish-rate",
            "40",
            "--brokers",
            "moto,kafka",
            "--results-dir",
            str(tmp_path / "results"),
            "--skip-report",
            "--gate-min-messages-per-s",
            "1000000",
            *local_stack.locust_args,
        ],  # fmt: skip
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [
                LOCUST,
                "-f",
                COMPARE_SCENARIO,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                port,
            ],  # fmt: skip
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    master_out, master_err = master.communicate(timeout=180)
    worker_logs = [worker.communicate(timeout=60)[1] for worker in workers]

    (run_dir,) = (tmp_path / "results").iterdir()
    services = json.loads((run_dir / "run.json").read_text())["services"]
    totals = [_worker_totals(log) for log in worker_logs]
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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.broker
def test_lost_worker_fails_the_run(local_stack, tmp_path):
    port = str(_free_port())
    master = subprocess.Popen(
        [
            LOCUST,
            "-f",
            SQS_SCENARIO,
            "--master",
            "--headless",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "60",
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
            "--results-dir",
            str(tmp_path / "results"),
            "--skip-report",
            *local_stack.locust_args,
        ],  # fmt: skip
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [
                LOCUST,
                "-f",
                SQS_SCENARIO,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                port,
            ],  # fmt: skip
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        time.sleep(8)
        workers[0].kill()
        master_out, master_err = master.communicate(timeout=120)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()

    assert master.returncode == 1, master_err[-3000:]
    assert "FAIL  workers lost:" in master_out
    (run_dir,) = (tmp_path / "results").iterdir()
    document = json.loads((run_dir / "run.json").read_text())
    assert len(document["workers"]["lost"]) == 1
    assert document["workers"]["lost"][0] in master_out


@pytest.mark.broker
def test_kinesis_shards_read_on_any_worker_layout(local_stack, tmp_path):
    """Locust may put both Kinesis consumers on one worker; all shards are read."""
    port = str(_free_port())
    scenario = str(REPO / "locustfiles" / "kinesis.py")
    master = subprocess.Popen(
        [
            LOCUST,
            "-f",
            scenario,
            "--master",
            "--headless",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            port,
            "--expect-workers",
            "2",
            "--expect-workers-max-wait",
            "60",
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
            "--results-dir",
            str(tmp_path / "results"),
            "--skip-report",
            *local_stack.locust_args,
        ],  # fmt: skip
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    workers = [
        subprocess.Popen(
            [
                LOCUST,
                "-f",
                scenario,
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                port,
            ],  # fmt: skip
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    try:
        _, master_err = master.communicate(timeout=150)
    finally:
        for worker in workers:
            worker.wait(timeout=60)

    assert master.returncode == 0, master_err[-3000:]
    (run_dir,) = (tmp_path / "results").iterdir()
    row = json.loads((run_dir / "run.json").read_text())["services"]["Kinesis"]
    assert row["published"] > 0
    assert row["lost"] == 0
    assert row["consumed"] == row["published"]
    assert row["duplicates"] == 0


@pytest.mark.parametrize(
    ("brokers", "sentence"),
    [
        ("foo", "--brokers names an unknown broker 'foo'"),
        ("kafka", "No user of this scenario can run with --brokers kafka"),
    ],
)
def test_brokers_without_users_rejected(locust_run, tmp_path, brokers, sentence):
    finished = locust_run(
        [
            "-f",
            SQS_SCENARIO,
            "--headless",
            "-t",
            "20s",
            "--brokers",
            brokers,
            "--results-dir",
            str(tmp_path),
            "--skip-report",
        ],  # fmt: skip
        cwd=tmp_path,
    )

    assert finished.returncode == 2
    assert sentence in finished.stderr
    assert "Traceback" not in finished.stderr


def test_results_dir_on_a_file_rejected(locust_run, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    finished = locust_run(
        [
            "-f",
            SQS_SCENARIO,
            "--headless",
            "-t",
            "20s",
            "--results-dir",
            str(a_file),
        ],  # fmt: skip
        cwd=tmp_path,
    )

    assert finished.returncode == 2
    assert "Cannot create the run folder" in finished.stderr
    assert "--results-dir" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_master_without_workers_gives_up(locust_run, tmp_path):
    finished = locust_run(
        [
            "-f",
            SQS_SCENARIO,
            "--master",
            "--headless",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(_free_port()),
            "--expect-workers",
            "1",
            "--expect-workers-max-wait",
            "3",
            "-t",
            "30s",
            "--results-dir",
            str(tmp_path),
            "--skip-report",
        ],  # fmt: skip
        cwd=tmp_path,
        timeout_s=60,
    )

    assert finished.returncode == 1
    assert "Gave up waiting for workers" in finished.stderr
    (run_dir,) = tmp_path.iterdir()
    document = json.loads((run_dir / "run.json").read_text())
    assert document["ended_at"] is not None
    assert document["error"].startswith("The process ended before the test finished")
