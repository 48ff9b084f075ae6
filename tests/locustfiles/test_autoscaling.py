"""Autoscaling scenario: the stand-in scaler's decisions, its scaling activities
file as the analysis package reads it, and a real short run against moto."""

import datetime as dt
import json
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.events import read_events_json
from users.autoscaling import (
    DEFAULT_RESOURCE_ID,
    ConsumerScaler,
    ScalingActivityLog,
    ScalingPolicy,
    desired_count,
)

REPO = Path(__file__).resolve().parents[2]
POLICY = ScalingPolicy(
    min_capacity=1,
    max_capacity=5,
    target_backlog_per_consumer=100,
    scale_out_cooldown_s=60,
    evaluation_interval_s=10,
)


def test_desired_count_meets_target():
    assert (
        desired_count(POLICY, backlog=350, current=1, seconds_since_scale_out=None) == 4
    )


def test_desired_count_keeps_count_at_target():
    assert (
        desired_count(POLICY, backlog=200, current=2, seconds_since_scale_out=None) == 2
    )


def test_desired_count_capped_at_max():
    assert (
        desired_count(POLICY, backlog=9000, current=2, seconds_since_scale_out=None)
        == 5
    )


def test_desired_count_never_below_min():
    policy = ScalingPolicy(3, 5, 100, 60, 10)

    assert (
        desired_count(policy, backlog=0, current=1, seconds_since_scale_out=None) == 3
    )


def test_desired_count_never_scales_in():
    assert (
        desired_count(POLICY, backlog=0, current=4, seconds_since_scale_out=None) == 4
    )


def test_desired_count_waits_for_cooldown():
    assert (
        desired_count(POLICY, backlog=500, current=2, seconds_since_scale_out=30) == 2
    )
    assert (
        desired_count(POLICY, backlog=500, current=2, seconds_since_scale_out=60) == 5
    )


def test_scaler_scales_out_once_within_cooldown(tmp_path):
    backlog = iter([50.0, 350.0, 900.0])
    log = ScalingActivityLog(tmp_path / "scaling_activities.json")
    scaler = ConsumerScaler(POLICY, lambda: next(backlog), lambda: 5, log)

    for _ in range(3):
        scaler.evaluate_once()

    assert scaler.desired == 4
    assert len(log.activities) == 1
    assert log.activities[0]["Description"] == "Setting desired count to 4."


def test_scaler_skips_unreadable_backlog(tmp_path):
    def unreadable() -> float:
        raise ConnectionError("moto is down")

    log = ScalingActivityLog(tmp_path / "scaling_activities.json")
    scaler = ConsumerScaler(POLICY, unreadable, lambda: 1, log)

    scaler.evaluate_once()

    assert scaler.desired == 1
    assert log.activities == []


def test_activity_file_reads_as_scale_out(tmp_path):
    path = tmp_path / "scaling_activities.json"
    log = ScalingActivityLog(path)
    started = dt.datetime(2026, 12, 4, 15, 19, 30, tzinfo=dt.UTC)
    ended = started + dt.timedelta(seconds=2)

    log.record_scale_out(4, started, ended, "Backlog 350 messages over 1 consumer.")
    events = read_events_json(path, [DEFAULT_RESOURCE_ID])

    assert len(events) == 1
    assert events[0]["kind"] == "scale_out"
    assert events[0]["capacity"] == 4.0
    assert events[0]["timestamp"] == pd.Timestamp(started)
    assert events[0]["end_time"] == pd.Timestamp(ended)


def test_activity_file_has_api_fields(tmp_path):
    path = tmp_path / "scaling_activities.json"
    log = ScalingActivityLog(path)
    started = dt.datetime(2026, 12, 4, 15, 19, 30, tzinfo=dt.UTC)

    log.record_scale_out(2, started, started, "details")
    log.record_scale_out(3, started + dt.timedelta(seconds=40), None, "details")
    activities = json.loads(path.read_text())["ScalingActivities"]

    assert [a["Description"] for a in activities] == [
        "Setting desired count to 3.",
        "Setting desired count to 2.",
    ]
    assert activities[1]["ServiceNamespace"] == "ecs"
    assert activities[1]["ResourceId"] == "service/msgload/local-consumers"
    assert activities[1]["ScalableDimension"] == "ecs:service:DesiredCount"
    assert "AlarmHigh" in activities[1]["Cause"]
    assert activities[1]["StatusCode"] == "Successful"
    assert activities[0]["StatusCode"] == "InProgress"
    assert "EndTime" not in activities[0]


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


@pytest.mark.broker
def test_local_run_scales_out_and_reports_reaction(moto_endpoint, tmp_path, locust_run):
    finished = locust_run(
        [
            "-f",
            str(REPO / "locustfiles" / "autoscaling.py"),
            "--headless",
            "--steps",
            "3",
            "--step-length-s",
            "5",
            "--step-users",
            "1",
            "--publish-rate",
            "60",
            "--processing-ms",
            "20",
            "--target-backlog-per-consumer",
            "20",
            "--consumers-max",
            "6",
            "--evaluation-interval-s",
            "1",
            "--scale-out-cooldown-s",
            "3",
            "--drain-s",
            "8",
            "--backlog-interval-s",
            "1",
            "--queue-name",
            "autoscaling-test",
            "--endpoint-url",
            moto_endpoint,
            "--results-dir",
            str(tmp_path),
            "--skip-report",
        ],  # fmt: skip
        cwd=tmp_path,
        timeout_s=60,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    run_dir = next(tmp_path.glob("*-autoscaling"))
    activities_path = run_dir / "scaling_activities.json"
    activities = json.loads(activities_path.read_text())["ScalingActivities"]

    assert len(activities) >= 1
    assert all(a["StatusCode"] == "Successful" for a in activities)

    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "report",
            str(run_dir),
            "--events-json",
            str(activities_path),
            "--resource-id",
            DEFAULT_RESOURCE_ID,
            "--backlog-threshold",
            "20",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    summary = (run_dir / "summary.md").read_text()
    lines = summary.splitlines()
    header = next(line for line in lines if "| reaction_s |" in line)
    column = [cell.strip() for cell in header.split("|")].index("reaction_s")
    kpi_rows = [line for line in lines if DEFAULT_RESOURCE_ID in line]
    assert kpi_rows
    reactions = [row.split("|")[column].strip() for row in kpi_rows]
    measured = [float(value) for value in reactions if value != "n/a"]
    assert measured, kpi_rows
    assert min(measured) >= 0
