"""Priority scenario: options, the producer's share and the consumer's polling
order, and a real short strict-priority run against moto under a backlog."""

import argparse
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from users import ConfigError
from users.priority import (
    HIGH,
    LOW,
    ShareSplitter,
    check_priority_options,
    first_lanes,
    parse_weights,
)

REPO = Path(__file__).resolve().parents[2]


def priority_options(**changes) -> argparse.Namespace:
    values = {
        "high_queue_name": "msgload-high",
        "low_queue_name": "msgload-low",
        "high_priority_share": 0.5,
        "priority_mode": "strict",
        "priority_weights": "3:1",
        **changes,
    }
    return argparse.Namespace(**values)


def test_weights_parsed_as_high_low():
    assert parse_weights("3:1") == (3, 1)


@pytest.mark.parametrize("text", ["3", "3:0", "a:b", "1:2:3"])
def test_invalid_weights_rejected(text):
    with pytest.raises(ConfigError, match="--priority-weights"):
        parse_weights(text)


def test_share_above_one_rejected():
    with pytest.raises(ConfigError, match="--high-priority-share"):
        check_priority_options(priority_options(high_priority_share=1.5))


def test_same_queue_for_both_rejected():
    options = priority_options(low_queue_name="msgload-high")

    with pytest.raises(ConfigError, match="two different queues"):
        check_priority_options(options)


@pytest.mark.parametrize(("share", "high_calls"), [(0.25, 25), (0.5, 50), (1.0, 100)])
def test_splitter_sends_share_to_high(share, high_calls):
    splitter = ShareSplitter(share)

    priorities = [splitter.next_priority() for _ in range(100)]

    assert priorities.count(HIGH) == high_calls
    assert priorities.count(LOW) == 100 - high_calls


def test_splitter_spreads_high_evenly():
    splitter = ShareSplitter(0.25)

    priorities = [splitter.next_priority() for _ in range(8)]

    assert priorities == [LOW, LOW, LOW, HIGH, LOW, LOW, LOW, HIGH]


def test_strict_mode_polls_high_first():
    polls = first_lanes("strict", "3:1")

    assert [next(polls) for _ in range(5)] == [HIGH] * 5


def test_weighted_mode_follows_weights():
    polls = first_lanes("weighted", "3:1")

    assert [next(polls) for _ in range(8)] == [HIGH, HIGH, HIGH, LOW] * 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    """Start moto alone on a free loopback port; stop it by its pid afterwards."""
    state_dir = tmp_path_factory.mktemp("stack")
    port = free_port()
    command = [
        sys.executable, "-m", "stack", "start", "--services", "moto",
        "--moto-port", str(port), "--state-dir", str(state_dir),
    ]  # fmt: skip
    started = subprocess.run(command, capture_output=True, text=True, cwd=REPO)
    if started.returncode != 0:
        pytest.fail(f"moto did not start: {started.stdout}{started.stderr}")
    yield f"http://127.0.0.1:{port}"
    command[3] = "stop"
    subprocess.run(command, capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def strict_run(moto_endpoint, tmp_path_factory, locust_run):
    """One producer at 60 messages/s and one consumer that spends 20 ms on each
    message (under 50 messages/s), so a backlog builds while producers publish."""
    results = tmp_path_factory.mktemp("results")
    finished = locust_run(
        [
            "-f",
            str(REPO / "locustfiles" / "priority.py"),
            "--headless",
            "-u",
            "2",
            "-r",
            "2",
            "-t",
            "26s",
            "--drain-s",
            "12",
            "--publish-rate",
            "60",
            "--processing-ms",
            "20",
            "--priority-mode",
            "strict",
            "--high-priority-share",
            "0.5",
            "--high-queue-name",
            "priority-test-high",
            "--low-queue-name",
            "priority-test-low",
            "--backlog-interval-s",
            "1",
            "--endpoint-url",
            moto_endpoint,
            "--results-dir",
            str(results),
            "--skip-report",
        ],  # fmt: skip
        cwd=results,
        timeout_s=60,
    )
    run_dir = next(results.glob("*-priority"), None)
    return finished, run_dir


def services_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "run.json").read_text())["services"]


@pytest.mark.broker
def test_strict_run_exits_cleanly(strict_run):
    finished, run_dir = strict_run

    assert finished.returncode == 0, finished.stderr[-3000:]
    assert run_dir is not None


@pytest.mark.broker
def test_strict_high_faster_than_low(strict_run):
    _, run_dir = strict_run
    services = services_of(run_dir)

    high_p50_ms = services["SQS high"]["end_to_end_ms"]["p50"]
    low_p50_ms = services["SQS low"]["end_to_end_ms"]["p50"]

    assert high_p50_ms < low_p50_ms


@pytest.mark.broker
@pytest.mark.parametrize("service", ["SQS high", "SQS low"])
def test_strict_run_loses_nothing(strict_run, service):
    _, run_dir = strict_run
    row = services_of(run_dir)[service]

    assert row["published"] > 0
    assert row["consumed"] == row["published"]
    assert row["lost"] == 0
    assert row["failures"] == 0


@pytest.mark.broker
def test_end_to_end_named_per_queue(strict_run):
    _, run_dir = strict_run
    services = services_of(run_dir)

    assert services["SQS high"]["end_to_end_entries"] == [
        "end-to-end priority-test-high"
    ]
    assert services["SQS low"]["end_to_end_entries"] == ["end-to-end priority-test-low"]


@pytest.mark.broker
def test_backlog_sampled_per_queue(strict_run):
    _, run_dir = strict_run
    rows = (run_dir / "backlog.csv").read_text().splitlines()[1:]

    resources = {tuple(row.split(",")[1:3]) for row in rows}

    assert resources == {
        ("SQS high", "priority-test-high"),
        ("SQS low", "priority-test-low"),
    }
