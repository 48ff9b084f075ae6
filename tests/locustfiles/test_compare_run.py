"""A real headless run of the comparison scenario against the local brokers."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUN_FILES = [
    "run.json",
    "locust_stats.csv",
    "locust_stats_history.csv",
    "locust_failures.csv",
    "locust_exceptions.csv",
    "locust.html",
    "backlog.csv",
]

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module")
def compare_run(local_stack, locust_run, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    finished = locust_run(
        [
            "-f",
            str(REPO / "locustfiles" / "compare.py"),
            "--headless",
            "-t",
            "24s",
            "--drain-s",
            "10",
            "--publish-rate",
            "50",
            "--backlog-interval-s",
            "2",
            "--brokers",
            "moto,kafka",
            "--results-dir",
            str(results),
            "--skip-report",
            *local_stack.locust_args,
        ],  # fmt: skip
        cwd=results,
    )
    run_dirs = list(results.iterdir())
    return finished, run_dirs


def test_compare_run_exits_cleanly(compare_run):
    finished, _ = compare_run
    assert finished.returncode == 0, finished.stderr[-3000:]


def test_compare_run_writes_one_complete_folder(compare_run):
    _, run_dirs = compare_run
    assert len(run_dirs) == 1
    assert run_dirs[0].name.endswith("-compare")
    for name in RUN_FILES:
        assert (run_dirs[0] / name).is_file(), name


LOCAL_SERVICES = ["SQS", "SQS FIFO", "SNS", "Kinesis", "Kafka"]


@pytest.mark.parametrize("service", LOCAL_SERVICES)
def test_every_acked_message_is_consumed(compare_run, service):
    _, run_dirs = compare_run
    row = json.loads((run_dirs[0] / "run.json").read_text())["services"][service]
    assert row["published"] > 0
    assert row["consumed"] == row["published"]
    assert row["lost"] == 0
    assert row["duplicates"] == 0
    assert row["failures"] == 0


@pytest.mark.parametrize("service", LOCAL_SERVICES)
def test_end_to_end_samples_equal_consumed(compare_run, service):
    _, run_dirs = compare_run
    row = json.loads((run_dirs[0] / "run.json").read_text())["services"][service]
    assert row["end_to_end_samples"] == row["consumed"]
    assert row["end_to_end_ms"]["p50"] > 0


def test_summary_printed_with_both_services(compare_run):
    finished, _ = compare_run
    lines = finished.stdout.splitlines()
    rows = {
        line.split()[0]: line
        for line in lines
        if line.split()[:1] in (["SQS"], ["Kafka"])
    }
    assert "SQS" in rows
    assert "Kafka" in rows


def test_run_has_no_gevent_warnings(compare_run):
    finished, _ = compare_run
    assert "MonkeyPatchWarning" not in finished.stderr
    assert "RecursionError" not in finished.stderr


def test_backlog_sampled_for_every_service(compare_run):
    _, run_dirs = compare_run
    rows = (run_dirs[0] / "backlog.csv").read_text().splitlines()
    assert rows[0] == "timestamp,service,resource,metric,value"
    services = {row.split(",")[1] for row in rows[1:]}
    assert services == set(LOCAL_SERVICES)
