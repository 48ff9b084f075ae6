"""Run-level behaviour of the plugin: bad options, AWS credentials, a master that
gives up on its workers, each through the real locust command line."""

import json
import socket
import sys
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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
