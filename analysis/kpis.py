"""Compute the reaction of consumer autoscaling to a growing backlog, per scale-out.

For each scale-out event the moments are:
  trigger     the backlog crossing --backlog-threshold upwards (the latest crossing
              at or before the scale-out), or else the latest alarm going to ALARM
  scale-out   the scaling activity's start (or the HPA/KEDA event)
  in service  the first capacity sample at or above the new capacity, or else the
              ECS "reached a steady state" event, or else the activity's end time
  peak        the highest backlog from the trigger to the end of the window
  drained     the first sample after the peak below the threshold (or at zero),
              within the window

A scale-out's window runs from its trigger to the next scale-out's later trigger
for the same service, or to the end of the run, so each scale-out is measured on
its own backlog wave. A scale-out with no trigger gets no KPI row.
"""

from __future__ import annotations

import logging
import math

import pandas as pd

from analysis.timeline import Timeline

__all__ = ["LATENCY_COLUMNS", "PHASES", "compute_kpis"]

logger = logging.getLogger(__name__)

PHASES = ("before", "during", "after")
LATENCY_COLUMNS = ("publish p95", "publish p99", "e2e p95", "e2e p99")


def _seconds(start, end) -> float:
    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return math.nan
    return (end - start).total_seconds()


def threshold_crossing(backlog: pd.Series, threshold: float, until) -> object:
    """Return the last time at or before until when backlog rose to threshold."""
    backlog = backlog.dropna()
    backlog = backlog[backlog.index <= until]
    above = backlog >= threshold
    rising = above & ~above.shift(1, fill_value=False)
    crossings = backlog.index[rising.to_numpy()]
    return crossings[-1] if len(crossings) else None


def _alarm_time(events: pd.DataFrame, until) -> object:
    alarms = events[(events["kind"] == "alarm") & (events["timestamp"] <= until)]
    return alarms["timestamp"].iloc[-1] if not alarms.empty else None


def _in_service(timeline: Timeline, event: pd.Series) -> tuple[object, str]:
    """Return when the new capacity was in service, and how that was found."""
    capacity = timeline.capacity_samples()
    target = event["capacity"]
    if not capacity.empty and not pd.isna(target):
        reached = capacity[
            (capacity.index >= event["timestamp"]) & (capacity >= target)
        ]
        if not reached.empty:
            return reached.index[0], "capacity metric"
    events = timeline.events
    steady = events[
        (events["kind"] == "steady_state")
        & (events["resource"] == event["resource"])
        & (events["timestamp"] >= event["timestamp"])
    ]
    if not steady.empty:
        return steady["timestamp"].iloc[0], "ECS steady state event"
    if not pd.isna(event["end_time"]):
        return event["end_time"], "scaling activity end"
    return None, "not found"


def _drain(
    backlog: pd.Series, start, window_end, level: float
) -> tuple[object, float, object]:
    """Return (peak time, peak backlog, drained time) in [start, window_end)."""
    after = backlog[backlog.index >= start].dropna()
    if window_end is not None:
        after = after[after.index < window_end]
    if after.empty:
        return None, math.nan, None
    peak_at = after.idxmax()
    following = after[after.index > peak_at]
    drained = following[following < level] if level > 0 else following[following <= 0]
    drained_at = drained.index[0] if not drained.empty else None
    return peak_at, float(after.max()), drained_at


def _phase_latency(timeline: Timeline, service: str, bounds) -> dict:
    """Return the highest per-bin p95 and p99 of each phase, in milliseconds."""
    frame = timeline.frame
    values = {}
    for phase, (start, end) in zip(PHASES, bounds, strict=True):
        # A bin belongs to the phase that holds its start, so the bin holding a
        # boundary goes to the later phase.
        rows = frame
        if start is not None:
            rows = rows[rows.index >= start.floor(f"{timeline.bin_s}s")]
        if end is not None:
            rows = rows[rows.index < end.floor(f"{timeline.bin_s}s")]
        for name in LATENCY_COLUMNS:
            column = f"{service} {name} ms"
            peak = rows[column].max() if column in rows.columns else math.nan
            values[f"{name} ms {phase}"] = float(peak)
    return values


def _trigger(timeline, backlog, threshold, activity_at) -> tuple[object, str]:
    """Return when and by what the scale-out at activity_at was triggered."""
    if threshold is not None and not backlog.empty:
        crossed_at = threshold_crossing(backlog, threshold, activity_at)
        if crossed_at is not None:
            return crossed_at, "backlog threshold"
    alarm_at = _alarm_time(timeline.events, activity_at)
    if alarm_at is not None:
        return alarm_at, "alarm"
    return None, "none"


def _kpi_row(timeline, event, service, trigger, window_end, threshold) -> dict:
    backlog = timeline.backlog_samples(service)
    activity_at = event["timestamp"]
    trigger_at, trigger_kind = trigger
    in_service_at, in_service_source = _in_service(timeline, event)
    level = threshold if threshold is not None else 0.0
    peak_at, peak, drained_at = _drain(backlog, trigger_at, window_end, level)

    start = timeline.frame.index.min()
    run_end = timeline.frame.index.max() + pd.Timedelta(seconds=timeline.bin_s)
    during_end = in_service_at if in_service_at is not None else activity_at
    after_end = drained_at or window_end or run_end
    bounds = (
        (start, trigger_at),
        (trigger_at, during_end),
        (during_end, after_end),
    )

    return {
        "service": service,
        "resource": event["resource"],
        "description": event["description"],
        "trigger": trigger_kind,
        "trigger_at": trigger_at,
        "scale_out_at": activity_at,
        "in_service_at": in_service_at,
        "in_service_from": in_service_source,
        "window_end": window_end,
        "reaction_s": _seconds(trigger_at, activity_at),
        "to_in_service_s": _seconds(trigger_at, in_service_at),
        "peak_backlog": peak,
        "peak_at": peak_at,
        "drained_at": drained_at,
        "drain_s": _seconds(peak_at, drained_at),
        **_phase_latency(timeline, service, bounds),
    }


def _window_end(triggers: list, position: int) -> object:
    """Return the first trigger after triggers[position] that is later than it."""
    trigger_at = triggers[position][0]
    for later_at, _ in triggers[position + 1 :]:
        if later_at is not None and later_at > trigger_at:
            return later_at
    return None


def _service_rows(timeline, scale_outs, service, threshold) -> tuple[list, int]:
    """Return the service's KPI rows and the number of scale-outs with no trigger."""
    backlog = timeline.backlog_samples(service)
    triggers = [
        _trigger(timeline, backlog, threshold, event["timestamp"])
        for _, event in scale_outs.iterrows()
    ]
    rows = []
    for position, (number, event) in enumerate(scale_outs.iterrows()):
        if triggers[position][0] is None:
            continue
        window_end = _window_end(triggers, position)
        row = _kpi_row(
            timeline, event, service, triggers[position], window_end, threshold
        )
        rows.append({"scale_out": number, **row})
    return rows, triggers.count((None, "none"))


def compute_kpis(timeline: Timeline, threshold: float | None = None) -> pd.DataFrame:
    """Return one row of KPIs per scale-out event and per service with a backlog.

    Scale-outs are numbered from 1 in time order in the `scale_out` column. A
    scale-out with no trigger for a service gets no row for it, and
    `frame.attrs["without_trigger"]` counts those. Times are UTC and durations are
    seconds. A value that cannot be computed from the data at hand is NaN or None,
    never zero.
    """
    events = timeline.events
    if events.empty:
        return pd.DataFrame()
    scale_outs = events[events["kind"] == "scale_out"].sort_values(
        "timestamp", kind="stable"
    )
    scale_outs.index = range(1, len(scale_outs) + 1)
    services = timeline.services_with_backlog() or [""]
    rows, without_trigger = [], 0
    for service in services:
        service_rows, missing = _service_rows(timeline, scale_outs, service, threshold)
        rows += service_rows
        without_trigger += missing
    logger.info(
        "Computed KPIs for %s scale-out events, %s without a trigger",
        len(scale_outs),
        without_trigger,
    )
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame = frame.sort_values(["scale_out", "service"], kind="stable")
        frame = frame.reset_index(drop=True)
    frame.attrs["without_trigger"] = without_trigger
    return frame
