"""Tests for merging a run onto one UTC timeline."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.read import read_run
from analysis.timeline import build_timeline, early_requests

REPO = Path(__file__).resolve().parents[2]


def add_backlog_rows(run_dir: Path, rows: list[str]) -> None:
    with (run_dir / "backlog.csv").open("a") as backlog:
        backlog.write("\n".join(rows) + "\n")


def test_two_gauge_samples_in_bin_are_not_summed(scaling_run):
    add_backlog_rows(
        scaling_run,
        [
            "2026-12-04T15:23:31+00:00,Kafka,g/t,consumer_lag,40",
            "2026-12-04T15:23:37+00:00,Kafka,g/t,consumer_lag,25",
        ],
    )
    timeline = build_timeline(read_run(scaling_run), bin_s=10)
    lag = timeline.frame.loc[
        pd.Timestamp("2026-12-04T15:23:30Z"), "Kafka consumer_lag g/t"
    ]
    assert lag == 40


def test_bin_without_sample_stays_nan(scaling_run):
    add_backlog_rows(
        scaling_run, ["2026-12-04T15:23:31+00:00,Kafka,g/t,consumer_lag,7"]
    )
    timeline = build_timeline(read_run(scaling_run), bin_s=10)
    lag = timeline.frame["Kafka consumer_lag g/t"]
    assert lag.notna().sum() == 1
    assert pd.isna(lag.loc[pd.Timestamp("2026-12-04T15:23:40Z")])


def test_publish_rate_from_cumulative_counts(scaling_run):
    timeline = build_timeline(read_run(scaling_run), bin_s=10)
    # The fixture adds 100 publish requests every 10 s, so 10 requests/s per bin.
    rates = timeline.frame["SQS publish requests/s"].dropna()
    assert set(rates.round(6)) == {10.0}


def test_percentile_is_highest_of_bin(scaling_run):
    timeline = build_timeline(read_run(scaling_run), bin_s=60)
    e2e_p99 = timeline.frame["SQS e2e p99 ms"]
    # Rows at 15:18:00-15:18:20 report 500 ms and 15:18:30-15:18:50 report 20 s.
    assert e2e_p99.loc[pd.Timestamp("2026-12-04T15:18:00Z")] == 20000


TOKYO_SCRIPT = """
import time, sys
from pathlib import Path
time.tzset()
from analysis.read import read_run
from analysis.timeline import build_timeline
timeline = build_timeline(read_run(Path(sys.argv[1])), bin_s=60)
row = timeline.frame.loc["2026-12-04T15:20:00+00:00"]
print(timeline.frame.index[0].isoformat())
print(row["SQS visible msgload-sqs"], row["SQS e2e p99 ms"])
"""


def test_tokyo_host_lines_up_to_minute(scaling_run):
    environment = {**os.environ, "TZ": "Asia/Tokyo", "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", TOKYO_SCRIPT, str(scaling_run)],
        capture_output=True,
        text=True,
        env=environment,
        check=True,
    )
    first, values = result.stdout.splitlines()
    assert first == "2026-12-04T15:17:00+00:00"
    # Backlog peaked at 3000 in the 15:20 minute; e2e was 20 s then.
    assert values == "3000.0 20000.0"


def test_events_land_in_their_bin(scaling_run, fixtures):
    from analysis.events import read_events_json, select_events

    found = read_events_json(
        fixtures / "scaling_activities.json", ["service/msgload/consumer"]
    )
    run = read_run(scaling_run)
    events = select_events(found, *run.window())
    timeline = build_timeline(run, events=events, bin_s=10)
    text = timeline.frame.loc[pd.Timestamp("2026-12-04T15:19:30Z"), "events"]
    assert text.startswith("autoscaling scale_out: Setting desired count to 4.")


@pytest.fixture
def kafka_join_run(tmp_path, fixtures):
    """Return a run whose Kafka consumer took 3 s to join its group."""
    run_dir = tmp_path / "20261204T161845Z-kafka"
    shutil.copytree(fixtures / "run_kafka_join", run_dir)
    return read_run(run_dir)


def test_early_spike_in_e2e_max_column(kafka_join_run):
    timeline = build_timeline(kafka_join_run, bin_s=10)
    first_bin = timeline.frame.loc[pd.Timestamp("2026-12-04T16:18:40Z")]
    # Locust's first end-to-end row: 380 messages, window percentiles all 0,
    # running maximum 3079.74 ms.
    assert first_bin["Kafka e2e max ms"] == pytest.approx(3079.74, abs=0.01)
    assert pd.isna(first_bin["Kafka e2e p99 ms"])


def test_running_max_counts_only_where_it_rose(kafka_join_run):
    timeline = build_timeline(kafka_join_run, bin_s=10)
    later = timeline.frame.loc[pd.Timestamp("2026-12-04T16:18:50Z")]
    # Rows 16:18:50-16:18:59 have window maxima of 230 to 260 ms.
    assert later["Kafka e2e max ms"] == 260


def test_early_requests_from_running_totals(kafka_join_run):
    early = early_requests(kafka_join_run.history, kafka_join_run.run_info)
    e2e = early[early["role"] == "end_to_end"].iloc[0]
    assert e2e["count"] == 380
    assert e2e["until"] == pd.Timestamp("2026-12-04T16:18:49Z")
    assert e2e["median_ms"] == 1400
    assert e2e["max_ms"] == pytest.approx(3079.74, abs=0.01)
    assert e2e["later_max_ms"] < 1000
