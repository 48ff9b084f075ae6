"""Tests for the scaling KPIs, against values computed by hand from the fixtures."""

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


def test_no_trigger_gives_nan_not_zero(scaling_run, fixtures):
    row = compute_kpis(scaling_timeline(scaling_run, fixtures)).iloc[0]
    assert row["trigger"] == "none"
    assert math.isnan(row["reaction_s"])


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
