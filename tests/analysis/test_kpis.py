"""Tests for the scaling KPIs, against values computed by hand from the fixtures."""

import json
import math

import pandas as pd
import pytest

from analysis.cloudwatch import read_metric_data_json
from analysis.events import read_events_json, select_events
from analysis.kpis import compute_kpis, threshold_crossing
from analysis.read import read_run
from analysis.timeline import build_timeline

CONSUMER = "service/msgload/consumer"


def scaling_timeline(run_dir, fixtures, names=("scaling_activities.json",)):
    run = read_run(run_dir)
    found = []
    for name in names:
        found += read_events_json(fixtures / name, [CONSUMER])
    events = select_events(found, *run.window())
    capacity = read_metric_data_json(fixtures / "cloudwatch_capacity.json")
    return build_timeline(run, capacity, events, bin_s=10)


def test_reaction_time_matches_hand_computation(scaling_run, fixtures):
    kpis = compute_kpis(scaling_timeline(scaling_run, fixtures), threshold=1000)
    row = kpis.iloc[0]
    # Hand computation from the fixtures:
    #   backlog.csv: 600 at 15:18:20.123456, 1200 at 15:18:30.123456, so the
    #   threshold of 1000 is crossed at 15:18:30.123456.
    #   scaling_activities.json: the consumer's activity starts 15:19:30.123456.
    #   reaction = 15:19:30.123456 - 15:18:30.123456 = 60.0 s
    assert row["trigger"] == "backlog threshold"
    assert row["trigger_at"] == pd.Timestamp("2026-12-04T15:18:30.123456Z")
    assert row["reaction_s"] == pytest.approx(60.0)
    #   cloudwatch_capacity.json: running tasks reach 4 (the new desired count)
    #   in the 15:21:00 datapoint; 15:21:00 - 15:18:30.123456 = 149.876544 s
    assert row["in_service_from"] == "capacity metric"
    assert row["to_in_service_s"] == pytest.approx(149.876544)
    #   The peak is 3000 at 15:20:00.123456; the first sample below 1000 after
    #   it is 800 at 15:22:30.123456: drain = 150 s.
    assert row["peak_backlog"] == 3000
    assert row["drain_s"] == pytest.approx(150.0)


def test_alarm_is_trigger_without_threshold(scaling_run, fixtures):
    timeline = scaling_timeline(
        scaling_run, fixtures, ("scaling_activities.json", "alarm_history.json")
    )
    row = compute_kpis(timeline).iloc[0]
    # Alarm at 15:19:10.567, activity at 15:19:30.123456: 19.556456 s.
    assert row["trigger"] == "alarm"
    assert row["reaction_s"] == pytest.approx(19.556456)


def test_no_trigger_leaves_scale_out_out(scaling_run, fixtures):
    kpis = compute_kpis(scaling_timeline(scaling_run, fixtures))
    # No threshold and no alarm history: the one scale-out has no trigger.
    assert kpis.empty
    assert kpis.attrs["without_trigger"] == 1


def test_latency_phases_around_scale_out(scaling_run, fixtures):
    row = compute_kpis(scaling_timeline(scaling_run, fixtures), threshold=1000).iloc[0]
    # History: e2e 500 ms before 15:18:30, 20 s until 15:21:00, 800 ms after.
    assert row["e2e p99 ms before"] == 500
    assert row["e2e p99 ms during"] == 20000
    assert row["e2e p99 ms after"] == 800
    assert row["publish p95 ms during"] == 20


def test_steady_state_event_when_no_capacity_metric(scaling_run, fixtures):
    run = read_run(scaling_run)
    found = read_events_json(fixtures / "scaling_activities.json", [CONSUMER])
    found += read_events_json(fixtures / "ecs_services.json", [CONSUMER])
    timeline = build_timeline(run, None, select_events(found, *run.window()), 10)
    row = compute_kpis(timeline, threshold=1000).iloc[0]
    # Steady state at 15:21:40 - crossing at 15:18:30.123456 = 189.876544 s.
    assert row["in_service_from"] == "ECS steady state event"
    assert row["to_in_service_s"] == pytest.approx(189.876544)


def test_crossing_needs_a_rise():
    index = pd.date_range("2026-12-04T15:00:00Z", periods=4, freq="10s")
    backlog = pd.Series([5.0, 12.0, 3.0, 15.0], index=index)
    assert threshold_crossing(backlog, 10, index[-1]) == index[3]
    assert threshold_crossing(backlog, 10, index[2]) == index[1]


TWO_WAVES_START_S = 1796396400  # 2026-12-04T15:00:00Z
TWO_WAVES_BACKLOG = (0, 50, 150, 400, 300, 80, 20, 0, 120, 500, 900, 600, 200, 90, 0)
HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Max Response Time\n"
)


def e2e_p99_ms(offset_s: int) -> int:
    """Return the fixture's end-to-end p99: 9 s in the second wave, else 700 ms."""
    return 9000 if 270 <= offset_s < 330 else 700


def write_two_wave_run(run_dir):
    """Write a 7.5-minute SQS run whose backlog rises, clears and rises again."""
    run_dir.mkdir()
    run_info = {
        "scenario": "autoscaling",
        "started_at": "2026-12-04T15:00:00+00:00",
        "ended_at": "2026-12-04T15:07:00+00:00",
        "services": {
            "SQS": {
                "publish_entries": ["SendMessage q"],
                "end_to_end_entries": ["end-to-end q"],
            }
        },
    }
    (run_dir / "run.json").write_text(json.dumps(run_info))
    backlog = ["timestamp,service,resource,metric,value\n"]
    for step, value in enumerate(TWO_WAVES_BACKLOG):
        stamp = pd.Timestamp(TWO_WAVES_START_S + 30 * step, unit="s", tz="UTC")
        backlog.append(f"{stamp.isoformat()},SQS,q,visible,{value}\n")
    (run_dir / "backlog.csv").write_text("".join(backlog))
    history = [HISTORY_HEADER]
    for offset_s in range(0, 420, 10):
        p99 = e2e_p99_ms(offset_s)
        count = 100 * (offset_s // 10 + 1)
        history.append(
            f"{TWO_WAVES_START_S + offset_s},5,SQS,end-to-end q,10,0,"
            f"{p99},{p99},{p99},{p99},{count},0,{p99},{p99}\n"
        )
    (run_dir / "locust_stats_history.csv").write_text("".join(history))
    return run_dir


def scale_out(start, end, capacity):
    return {
        "timestamp": pd.Timestamp(start),
        "source": "scaling_activity",
        "resource": CONSUMER,
        "kind": "scale_out",
        "capacity": capacity,
        "end_time": pd.Timestamp(end),
        "description": f"Setting desired count to {capacity}.",
    }


def test_two_scale_outs_measured_separately(tmp_path):
    run = read_run(write_two_wave_run(tmp_path / "run"))
    found = [
        scale_out("2026-12-04T15:01:20Z", "2026-12-04T15:01:50Z", 2),
        scale_out("2026-12-04T15:04:20Z", "2026-12-04T15:04:50Z", 4),
    ]
    timeline = build_timeline(run, None, select_events(found, *run.window()), 10)
    kpis = compute_kpis(timeline, threshold=100)
    first, second = kpis.iloc[0], kpis.iloc[1]
    # Hand computation, backlog sampled every 30 s from 15:00:00 (threshold 100):
    #   0 50 150 400 300 80 20 0 | 120 500 900 600 200 90 0
    #   First wave: crosses 100 at 15:01:00 (150); the window runs to the second
    #   trigger, 15:04:00. Peak 400 at 15:01:30; first sample below 100 after it
    #   is 80 at 15:02:30: drain = 60 s.
    assert list(kpis["scale_out"]) == [1, 2]
    assert first["trigger_at"] == pd.Timestamp("2026-12-04T15:01:00Z")
    assert first["window_end"] == pd.Timestamp("2026-12-04T15:04:00Z")
    assert first["reaction_s"] == pytest.approx(20.0)
    assert first["peak_backlog"] == 400
    assert first["drain_s"] == pytest.approx(60.0)
    #   Second wave: crosses at 15:04:00 (120), window to the end of the run.
    #   Peak 900 at 15:05:00; 90 at 15:06:30 is below 100: drain = 90 s.
    assert second["trigger_at"] == pd.Timestamp("2026-12-04T15:04:00Z")
    assert second["reaction_s"] == pytest.approx(20.0)
    assert second["peak_backlog"] == 900
    assert second["drain_s"] == pytest.approx(90.0)
    #   No capacity samples, so in service is the activity's end: 15:01:50, and
    #   the first "after" phase runs 15:01:50 to 15:02:30, where e2e p99 is
    #   700 ms. The 9 s of 15:04:30-15:05:20 belong to the second scale-out only.
    assert first["to_in_service_s"] == pytest.approx(50.0)
    assert first["e2e p99 ms after"] == 700
    assert second["e2e p99 ms after"] == 9000


def test_drain_is_nan_when_backlog_stays_high(tmp_path):
    run_dir = write_two_wave_run(tmp_path / "run")
    # Cut the run after 15:05:30, so the second wave never falls below 100.
    lines = (run_dir / "backlog.csv").read_text().splitlines(keepends=True)
    (run_dir / "backlog.csv").write_text("".join(lines[:12]))
    run = read_run(run_dir)
    found = [scale_out("2026-12-04T15:04:20Z", "2026-12-04T15:04:50Z", 4)]
    timeline = build_timeline(run, None, select_events(found, *run.window()), 10)
    row = compute_kpis(timeline, threshold=100).iloc[0]
    assert row["peak_backlog"] == 900
    assert math.isnan(row["drain_s"])
