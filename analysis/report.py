"""Write a run's report: report.html with inlined plots, summary.md and timeline.csv."""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis import plots
from analysis.kpis import compute_kpis
from analysis.read import RunData
from analysis.summary import build_tables, run_errors, to_html, to_markdown
from analysis.timeline import DEFAULT_BIN_S, build_timeline, early_requests

__all__ = ["ReportFiles", "latency_caption", "write_report"]

logger = logging.getLogger(__name__)

STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}"
    ".missing{background:#fff4e0;border-left:4px solid #e0a000;padding:.5em 1em}"
    ".error{background:#fde8e8;border-left:4px solid #c00000;padding:.5em 1em}"
    "img{max-width:100%}"
)
LATENCY_CAPTION = (
    "Percentile lines are Locust's values over a sliding 10 s window, which in "
    "Locust 2.x leaves out the requests of each entry's first second. The max line "
    "is the highest response time Locust recorded in each bin, those first "
    "requests included."
)
ROLE_WORDS = {
    "publish": ("publish", "requests"),
    "end_to_end": ("end-to-end", "messages"),
}


@dataclass
class ReportFiles:
    """The paths written by write_report, and the notes on missing data."""

    html: Path
    markdown: Path
    timeline_csv: Path
    notes: list[str] = field(default_factory=list)


def _title(run: RunData) -> str:
    info = run.run_info
    start, end = run.window()
    scenario = info.get("scenario") or run.run_dir.name
    if start is None:
        return f"msgload run {scenario}"
    return f"msgload run {scenario}: {start.isoformat()} to {end.isoformat()} (UTC)"


def _figure(title: str, png: bytes | None, caption: list[str] | None = None) -> str:
    if png is None:
        return ""
    encoded = base64.b64encode(png).decode("ascii")
    paragraphs = "".join(f"<p>{html.escape(text)}</p>" for text in caption or [])
    return (
        f"<h2>{html.escape(title)}</h2>"
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{encoded}">'
        + paragraphs
    )


def latency_caption(run: RunData) -> list[str]:
    """Return the sentences under the latency plot.

    Besides the general sentence, it names each entry whose first requests were
    slower than anything in its later 10 s windows, so a reader knows that the
    spike at the start of the max line has no percentile.
    """
    sentences = [LATENCY_CAPTION]
    early = early_requests(run.history, run.run_info)
    # later_max_ms is NaN when the entry never got a percentile, so all of it is early.
    known = early[early["max_ms"].notna() & early["median_ms"].notna()]
    hidden = known[~(known["max_ms"] <= known["later_max_ms"])]
    for _, entry in hidden.iterrows():
        kind, unit = ROLE_WORDS[entry["role"]]
        sentences.append(
            f"{entry['service']} {kind}: Locust's percentiles leave out the first "
            f"{entry['count']:,} {unit} (up to {entry['until']:%H:%M:%S} UTC), whose "
            f"median was {entry['median_ms']:,.0f} ms and maximum "
            f"{entry['max_ms']:,.0f} ms."
        )
    return sentences


def _notes(run: RunData, timeline, kpis: pd.DataFrame, threshold) -> list[str]:
    notes = list(run.missing)
    if timeline.events.empty:
        notes.append("No scaling events were given, so there are no scaling KPIs.")
    elif not (timeline.events["kind"] == "scale_out").any():
        notes.append("The scaling events hold no scale-out, so there are no KPIs.")
    without_trigger = kpis.attrs.get("without_trigger", 0)
    if without_trigger:
        fix = (
            "pass --backlog-threshold or the alarm history to measure them"
            if threshold is None
            else "pass the alarm history to measure them"
        )
        notes.append(
            f"{without_trigger} scale-outs had no trigger for a service (no threshold "
            f"crossing and no alarm before them), so they have no KPI row; {fix}."
        )
    return notes


def write_report(
    run: RunData,
    cloudwatch: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    threshold: float | None = None,
    bin_s: int = DEFAULT_BIN_S,
) -> ReportFiles:
    """Merge the run's data, compute KPIs and write the three report files."""
    timeline = build_timeline(run, cloudwatch, events, bin_s)
    kpis = compute_kpis(timeline, threshold)
    notes = _notes(run, timeline, kpis, threshold)
    tables = build_tables(run, kpis)
    title = _title(run)
    errors = run_errors(run.run_info)

    files = ReportFiles(
        run.run_dir / "report.html",
        run.run_dir / "summary.md",
        run.run_dir / "timeline.csv",
        notes,
    )
    csv_frame = timeline.frame.copy()
    csv_frame.index = csv_frame.index.map(pd.Timestamp.isoformat).rename("timestamp")
    csv_frame.to_csv(files.timeline_csv)
    files.markdown.write_text(
        to_markdown(title, notes, tables, errors), encoding="utf-8"
    )

    missing = "".join(f"<li>{html.escape(note)}</li>" for note in notes)
    error_block = "".join(
        f"<p class='error'>Error: {html.escape(error)}</p>" for error in errors
    )
    figures = [
        _figure("Timeline: rates, backlog, capacity and events", None)
        if timeline.frame.empty
        else _figure(
            "Timeline: rates, backlog, capacity and events",
            plots.timeline_png(timeline),
        ),
        _figure(
            "Latency per service", plots.latency_png(timeline), latency_caption(run)
        ),
        _figure("Backlog per service", plots.backlog_png(timeline)),
    ]
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        + error_block
        + (f"<div class='missing'><ul>{missing}</ul></div>" if notes else "")
        + to_html(tables)
        + "".join(figures)
        + "</body></html>"
    )
    files.html.write_text(page, encoding="utf-8")
    logger.info("Wrote report %s", files.html)
    return files
