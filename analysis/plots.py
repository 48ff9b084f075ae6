"""Draw the report's figures with matplotlib's Agg backend and return PNG bytes.

Each service keeps one colour in every figure. Line style distinguishes publish
from consumed or end-to-end, and legends sit outside the axes so they cover no data.
"""

from __future__ import annotations

import io
import logging
import textwrap

import matplotlib

# The backend is chosen before pyplot or any figure code loads.
matplotlib.use("Agg")

import matplotlib.dates as mdates
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_hex, to_rgb
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.timeline import Timeline, latency_columns, sample_labels

__all__ = [
    "SERVICE_COLOURS",
    "backlog_figure",
    "backlog_png",
    "latency_figure",
    "latency_png",
    "service_colours",
    "timeline_figure",
    "timeline_png",
]

logger = logging.getLogger(__name__)

# One fixed colour per service label that msgload's user classes report.
SERVICE_COLOURS = {
    "SQS": "tab:blue",
    "SQS FIFO": "tab:cyan",
    "SNS": "tab:purple",
    "Kinesis": "tab:orange",
    "Kafka": "tab:red",
    "RabbitMQ": "tab:green",
    "ActiveMQ": "tab:brown",
}
# Colours for other service labels: the tab10 ones left over, then tab20's light
# shades of the same hues. They repeat only after 13 unknown services.
EXTRA_COLOURS = ["tab:pink", "tab:olive", "tab:gray"] + [
    to_hex(colour) for colour in colormaps["tab20"].colors[1::2]
]
# Events are black or grey so that no event line looks like a service's line.
EVENT_STYLES = {
    "scale_out": ("black", "--"),
    "scale_in": ("black", ":"),
    "alarm": ("dimgray", "-."),
    "alarm_ok": ("dimgray", ":"),
}
PUBLISH_STYLE = "--"
CONSUMED_STYLE = "-"
# How far each percentile's line is blended towards white: lighter is lower.
PERCENTILE_TINTS = {"p50": 0.6, "p95": 0.3, "p99": 0.0}
DEFAULT_WIDTH_IN = 12.0
DEFAULT_ROW_HEIGHT_IN = 2.8
DEFAULT_DPI = 90
# Longer legend labels wrap, so a long Kafka group/topic does not squeeze the axes.
DEFAULT_LABEL_WIDTH = 36


def service_colours(services: list[str]) -> dict[str, str]:
    """Map each service to its fixed colour, and unknown services to extra colours."""
    colours = {
        name: SERVICE_COLOURS[name] for name in services if name in SERVICE_COLOURS
    }
    unknown = sorted(name for name in services if name not in SERVICE_COLOURS)
    for index, name in enumerate(unknown):
        colours[name] = EXTRA_COLOURS[index % len(EXTRA_COLOURS)]
    return colours


def _tint(colour: str, towards_white: float) -> tuple[float, float, float]:
    red, green, blue = to_rgb(colour)
    return (
        red + (1 - red) * towards_white,
        green + (1 - green) * towards_white,
        blue + (1 - blue) * towards_white,
    )


def _new_figure(rows: int) -> Figure:
    # Constrained layout makes room for the legends outside the axes.
    return Figure(
        figsize=(DEFAULT_WIDTH_IN, DEFAULT_ROW_HEIGHT_IN * rows), layout="constrained"
    )


def _to_png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DEFAULT_DPI)
    return buffer.getvalue()


def _legend_outside(axis, handles: list | None = None) -> None:
    """Put the axis's legend to the right of it, outside the plotted area."""
    if handles is None:
        handles = axis.get_legend_handles_labels()[0]
    if handles:
        axis.legend(
            handles=handles,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            fontsize="small",
        )


def _format_time_axis(axis) -> None:
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S", tz="UTC"))
    axis.set_xlabel("time (UTC)")


def _mark_events(figure: Figure, axes, events: pd.DataFrame) -> None:
    """Draw a vertical line per event and key the kinds in a legend below the axes."""
    kinds = []
    for _, event in events.iterrows():
        style = EVENT_STYLES.get(event["kind"])
        if style is None:
            continue
        for axis in axes:
            axis.axvline(event["timestamp"], color=style[0], linestyle=style[1])
        if event["kind"] not in kinds:
            kinds.append(event["kind"])
    if not kinds:
        return
    handles = [
        Line2D([], [], color=EVENT_STYLES[kind][0], linestyle=EVENT_STYLES[kind][1])
        for kind in kinds
    ]
    labels = [kind.replace("_", " ") for kind in kinds]
    figure.legend(
        handles, labels, loc="outside lower center", ncols=len(kinds), fontsize="small"
    )


def _plot(axis, series: pd.Series, label: str | None, **style) -> bool:
    """Plot a series without its NaN bins; return whether it had any value."""
    series = series.dropna()
    if series.empty:
        return False
    style.setdefault("marker", ".")
    axis.plot(series.index, series.to_numpy(), label=label, **style)
    return True


def _rate_service(column: str) -> tuple[str, str] | None:
    for suffix, line_style in (
        (" publish requests/s", PUBLISH_STYLE),
        (" consumed messages/s", CONSUMED_STYLE),
    ):
        if column.endswith(suffix):
            return column.removesuffix(suffix), line_style
    return None


def _draw_rates(axis, frame: pd.DataFrame, colours: dict[str, str]) -> None:
    drawn = []
    for column in frame.columns:
        parsed = _rate_service(column)
        if parsed is None:
            continue
        service, line_style = parsed
        colour = colours.get(service, "black")
        if _plot(axis, frame[column], None, color=colour, linestyle=line_style):
            drawn.append(service)
    handles = [
        Line2D([], [], color=colours.get(service, "black"), label=service)
        for service in sorted(set(drawn))
    ]
    handles += [
        Line2D(
            [], [], color="black", linestyle=PUBLISH_STYLE, label="publish requests/s"
        ),
        Line2D(
            [], [], color="black", linestyle=CONSUMED_STYLE, label="consumed messages/s"
        ),
    ]
    if "failures/s" in frame:
        style = {"color": "black", "marker": "x", "linestyle": ":"}
        if _plot(axis, frame["failures/s"], "failures/s", **style):
            handles.append(Line2D([], [], label="failures/s", **style))
    axis.set_ylabel("per second")
    axis.grid(alpha=0.3)
    _legend_outside(axis, handles)


def _draw_backlog(axis, timeline: Timeline, colours: dict[str, str]) -> None:
    for service in timeline.services_with_backlog():
        series = timeline.backlog(service)
        label = f"{service} {series.name}"
        _plot(axis, series, label, color=colours.get(service, "black"))
    axis.set_ylabel("backlog")
    axis.grid(alpha=0.3)
    _legend_outside(axis)


def _draw_capacity(axis, timeline: Timeline) -> None:
    _plot(axis, timeline.capacity(), "running tasks", color="black")
    if "users" in timeline.frame:
        _plot(axis, timeline.frame["users"], "users", color="gray")
    axis.set_ylabel("users / tasks")
    axis.grid(alpha=0.3)
    _legend_outside(axis)


def timeline_figure(timeline: Timeline) -> Figure:
    """Draw rates, backlog and capacity over time, with scaling and alarm markers."""
    colours = service_colours(timeline.services())
    figure = _new_figure(3)
    rates, backlog, capacity = figure.subplots(3, 1, sharex=True)
    _draw_rates(rates, timeline.frame, colours)
    _draw_backlog(backlog, timeline, colours)
    _draw_capacity(capacity, timeline)
    _mark_events(figure, [rates, backlog, capacity], timeline.events)
    _format_time_axis(capacity)
    return figure


def timeline_png(timeline: Timeline) -> bytes:
    """Return the timeline figure as PNG bytes."""
    return _to_png(timeline_figure(timeline))


def _latency_style(column: str, colour: str) -> tuple[str, dict]:
    """Return the legend label and line style of a latency column."""
    words = column.split(" ")
    kind, statistic = words[-3], words[-2]
    label = f"{'end-to-end' if kind == 'e2e' else kind} {statistic}"
    line_style = CONSUMED_STYLE if kind == "e2e" else PUBLISH_STYLE
    if statistic == "max":
        max_style = ":" if kind == "e2e" else "-."
        return label, {"color": colour, "linestyle": max_style, "marker": "x"}
    tint = PERCENTILE_TINTS.get(statistic, 0.0)
    return label, {"color": _tint(colour, tint), "linestyle": line_style}


def latency_figure(timeline: Timeline) -> Figure | None:
    """Draw publish and end-to-end p50/p95/p99 and max per service; None if none."""
    frame = timeline.frame
    services = [
        service
        for service in timeline.services()
        if any(column in frame for column in latency_columns(service))
    ]
    if not services:
        return None
    colours = service_colours(timeline.services())
    figure = _new_figure(len(services))
    axes = figure.subplots(len(services), 1, sharex=True, squeeze=False)[:, 0]
    for axis, service in zip(axes, services, strict=True):
        for column in latency_columns(service):
            if column in frame:
                label, style = _latency_style(column, colours[service])
                _plot(axis, frame[column], label, **style)
        axis.set_ylabel("ms")
        axis.grid(alpha=0.3)
        axis.set_title(f"{service}: publish and end-to-end latency", fontsize="medium")
        _legend_outside(axis)
    _mark_events(figure, axes, timeline.events)
    _format_time_axis(axes[-1])
    return figure


def latency_png(timeline: Timeline) -> bytes | None:
    """Return the latency figure as PNG bytes; None when there is no latency."""
    figure = latency_figure(timeline)
    return None if figure is None else _to_png(figure)


def _draw_service_samples(axis, frame: pd.DataFrame, service: str, colour) -> None:
    """Draw a service's sample columns in its colour, one line style per column."""
    line_styles = ("-", "--", ":", "-.")
    markers = (".", "x", "+", "^")
    for index, column in enumerate(sorted(set(frame.columns))):
        style = {
            "color": colour,
            "linestyle": line_styles[index % len(line_styles)],
            "marker": markers[index // len(line_styles) % len(markers)],
        }
        label = column.removeprefix(f"{service} ")
        wrapped = "\n".join(textwrap.wrap(label, DEFAULT_LABEL_WIDTH))
        _plot(axis, frame[column], wrapped, **style)


def backlog_figure(timeline: Timeline) -> Figure | None:
    """Draw every backlog metric per service and resource; None when there are none."""
    frame = timeline.frame
    samples = timeline.samples
    services = sorted(samples["service"].unique()) if not samples.empty else []
    if not services:
        return None
    colours = service_colours(timeline.services())
    figure = _new_figure(len(services))
    axes = figure.subplots(len(services), 1, sharex=True, squeeze=False)[:, 0]

    for axis, service in zip(axes, services, strict=True):
        of_service = samples[samples["service"] == service]
        columns = sorted(set(sample_labels(of_service)) & set(frame.columns))
        _draw_service_samples(axis, frame[columns], service, colours[service])
        axis.set_ylabel("value")
        axis.grid(alpha=0.3)
        axis.set_title(f"{service}: backlog and queue metrics", fontsize="medium")
        _legend_outside(axis)

    _mark_events(figure, axes, timeline.events)
    _format_time_axis(axes[-1])
    return figure


def backlog_png(timeline: Timeline) -> bytes | None:
    """Return the backlog figure as PNG bytes; None when there are no samples."""
    figure = backlog_figure(timeline)
    return None if figure is None else _to_png(figure)
