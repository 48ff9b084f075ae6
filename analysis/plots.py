"""Draw the report's figures with matplotlib's Agg backend and return PNG bytes."""

from __future__ import annotations

import io
import logging

import matplotlib

# The backend is chosen before pyplot or any figure code loads.
matplotlib.use("Agg")

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from analysis.timeline import Timeline, latency_columns, sample_labels

__all__ = ["backlog_png", "latency_png", "timeline_png"]

logger = logging.getLogger(__name__)

EVENT_COLOURS = {
    "scale_out": "tab:green",
    "scale_in": "tab:orange",
    "alarm": "tab:red",
    "alarm_ok": "tab:blue",
}
DEFAULT_WIDTH_IN = 11.0
DEFAULT_ROW_HEIGHT_IN = 2.8


def _to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def _format_time_axis(axis) -> None:
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz="UTC"))
    axis.set_xlabel("time (UTC)")


def _mark_events(axes, events: pd.DataFrame) -> None:
    """Draw a vertical line per event; the first axis gets one legend entry per kind."""
    labelled = set()
    for _, event in events.iterrows():
        colour = EVENT_COLOURS.get(event["kind"])
        if colour is None:
            continue
        for index, axis in enumerate(axes):
            label = None
            if index == 0 and event["kind"] not in labelled:
                label = event["kind"].replace("_", " ")
                labelled.add(event["kind"])
            axis.axvline(event["timestamp"], color=colour, linestyle="--", label=label)


def _plot_columns(axis, frame: pd.DataFrame, columns: list[str], ylabel: str) -> None:
    for column in columns:
        series = frame[column].dropna()
        if not series.empty:
            axis.plot(series.index, series.to_numpy(), marker=".", label=column)
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)


def timeline_png(timeline: Timeline) -> bytes:
    """Draw rates, backlog and capacity over time, with scaling and alarm markers."""
    frame = timeline.frame
    figure = Figure(figsize=(DEFAULT_WIDTH_IN, 3 * DEFAULT_ROW_HEIGHT_IN))
    rates, backlog, capacity = figure.subplots(3, 1, sharex=True)
    rate_columns = [c for c in frame if c.endswith("/s") and c != "failures/s"]
    _plot_columns(
        rates,
        frame,
        rate_columns + ["failures/s"] * ("failures/s" in frame),
        "per second",
    )
    for service in timeline.services_with_backlog():
        series = timeline.backlog(service).dropna()
        backlog.plot(
            series.index,
            series.to_numpy(),
            marker=".",
            label=f"{service} {series.name}",
        )
    backlog.set_ylabel("backlog")
    backlog.grid(alpha=0.3)
    capacity_series = timeline.capacity().dropna()
    if not capacity_series.empty:
        capacity.plot(
            capacity_series.index,
            capacity_series.to_numpy(),
            marker=".",
            label="running tasks",
        )
    if "users" in frame:
        _plot_columns(capacity, frame, ["users"], "users / tasks")
    capacity.set_ylabel("users / tasks")
    _mark_events([rates, backlog, capacity], timeline.events)
    for axis in (rates, backlog, capacity):
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", fontsize="small")
    _format_time_axis(capacity)
    return _to_png(figure)


def latency_png(timeline: Timeline) -> bytes | None:
    """Draw publish and end-to-end p50/p95/p99 per service; None when there are none."""
    frame = timeline.frame
    services = [
        service
        for service in timeline.services()
        if any(column in frame for column in latency_columns(service))
    ]
    if not services:
        return None
    figure = Figure(figsize=(DEFAULT_WIDTH_IN, DEFAULT_ROW_HEIGHT_IN * len(services)))
    axes = figure.subplots(len(services), 1, sharex=True, squeeze=False)[:, 0]
    for axis, service in zip(axes, services, strict=True):
        columns = [c for c in latency_columns(service) if c in frame]
        _plot_columns(axis, frame, columns, "ms")
        axis.set_title(f"{service}: publish and end-to-end latency", fontsize="medium")
        axis.legend(loc="upper left", fontsize="small")
    _mark_events(axes, timeline.events)
    _format_time_axis(axes[-1])
    return _to_png(figure)


def backlog_png(timeline: Timeline) -> bytes | None:
    """Draw every backlog metric per service and resource; None when there are none."""
    frame = timeline.frame
    samples = timeline.samples
    services = sorted(samples["service"].unique()) if not samples.empty else []
    if not services:
        return None
    figure = Figure(figsize=(DEFAULT_WIDTH_IN, DEFAULT_ROW_HEIGHT_IN * len(services)))
    axes = figure.subplots(len(services), 1, sharex=True, squeeze=False)[:, 0]
    for axis, service in zip(axes, services, strict=True):
        of_service = samples[samples["service"] == service]
        columns = sorted(set(sample_labels(of_service)) & set(frame.columns))
        _plot_columns(axis, frame, columns, "value")
        axis.set_title(f"{service}: backlog and queue metrics", fontsize="medium")
        if axis.get_legend_handles_labels()[0]:
            axis.legend(loc="upper left", fontsize="small")
    _mark_events(axes, timeline.events)
    _format_time_axis(axes[-1])
    return _to_png(figure)
