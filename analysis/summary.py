"""Build the report's tables once, and render them as Markdown or HTML."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import pandas as pd

from analysis.kpis import LATENCY_COLUMNS, PHASES
from analysis.read import RunData

__all__ = [
    "Table",
    "build_tables",
    "format_value",
    "run_errors",
    "service_notes",
    "to_html",
    "to_markdown",
]

SERVICE_HEADERS = (
    "service",
    "messages/s",
    "publish p50 ms",
    "publish p95 ms",
    "publish p99 ms",
    "e2e p50 ms",
    "e2e p95 ms",
    "e2e p99 ms",
    "failures",
    "duplicates",
    "out of order",
    "lost",
)


@dataclass
class Table:
    """A titled table of already formatted cells, and sentences shown under it."""

    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)


def format_value(value: object) -> str:
    """Format a cell: "n/a" for a missing value, times in ISO 8601 UTC."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if isinstance(value, pd.Timestamp):
        return "n/a" if pd.isna(value) else value.isoformat()
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _service_rows(run_info: dict) -> list[tuple[str, ...]]:
    rows = []
    for name, service in run_info.get("services", {}).items():
        publish = service.get("publish_ms") or {}
        e2e = service.get("end_to_end_ms") or {}
        values = (
            name,
            service.get("messages_per_s"),
            publish.get("p50"),
            publish.get("p95"),
            publish.get("p99"),
            e2e.get("p50"),
            e2e.get("p95"),
            e2e.get("p99"),
            service.get("failures"),
            service.get("duplicates"),
            service.get("out_of_order"),
            service.get("lost"),
        )
        rows.append(tuple(format_value(value) for value in values))
    return rows


def service_notes(run_info: dict) -> list[str]:
    """Return a sentence for each service whose lost messages may only be late."""
    notes = []
    for name, service in run_info.get("services", {}).items():
        waiting = service.get("waiting_at_end") or 0
        lost = service.get("lost") or 0
        if waiting > 0 and lost > 0:
            notes.append(
                f"{name}: {lost:,} messages were not consumed by the end and "
                f"{waiting:,} were still waiting in the backlog, so some may be late "
                "rather than lost; a longer --drain-s or a lower rate tells them "
                "apart."
            )
    return notes


def run_errors(run_info: dict) -> list[str]:
    """Return one sentence for each error that msgload recorded in run.json."""
    sentences = []
    if run_info.get("config_error"):
        sentences.append(
            "msgload stopped this run on a configuration error, so its numbers are "
            f"incomplete: {run_info['config_error']}"
        )
    if run_info.get("error"):
        sentences.append(
            "msgload recorded an error for this run, so its numbers may be "
            f"incomplete: {run_info['error']}"
        )
    return sentences


def _gate_rows(run_info: dict) -> list[tuple[str, ...]]:
    return [
        tuple(
            format_value(gate.get(key))
            for key in ("name", "threshold", "measured", "passed")
        )
        for gate in run_info.get("gates", [])
    ]


def _entry_rows(stats: pd.DataFrame) -> list[tuple[str, ...]]:
    columns = ("type", "name", "request_count", "failure_count", "p50", "p95", "p99")
    present = [column for column in columns if column in stats.columns]
    return [
        tuple(format_value(row[column]) for column in present)
        for _, row in stats[present].iterrows()
    ]


def _kpi_tables(kpis: pd.DataFrame) -> list[Table]:
    if kpis.empty:
        return []
    timing_keys = (
        "scale_out",
        "service",
        "resource",
        "trigger",
        "trigger_at",
        "scale_out_at",
        "in_service_at",
        "reaction_s",
        "to_in_service_s",
        "peak_backlog",
        "drain_s",
    )
    timing = Table(
        "Scaling KPIs (seconds; times in UTC)",
        timing_keys,
        [
            tuple(format_value(row[key]) for key in timing_keys)
            for _, row in kpis.iterrows()
        ],
    )
    latency_rows = []
    for _, row in kpis.iterrows():
        for name in LATENCY_COLUMNS:
            cells = [row[f"{name} ms {phase}"] for phase in PHASES]
            latency_rows.append(
                (
                    str(row["scale_out"]),
                    row["service"],
                    f"{name} ms",
                    *map(format_value, cells),
                )
            )
    latency = Table(
        "Latency around each scale-out (highest value of any bin in the phase)",
        ("scale-out", "service", "latency", *PHASES),
        latency_rows,
    )
    return [timing, latency]


def build_tables(run: RunData, kpis: pd.DataFrame) -> list[Table]:
    """Return the summary tables that have data, in report order."""
    tables = []
    services = _service_rows(run.run_info)
    if services:
        notes = service_notes(run.run_info)
        tables.append(Table("Services", SERVICE_HEADERS, services, notes))
    if not run.stats.empty:
        headers = ("type", "name", "requests", "failures", "p50 ms", "p95 ms", "p99 ms")
        rows = _entry_rows(run.stats)
        tables.append(Table("Locust entries", headers[: len(rows[0])], rows))
    gates = _gate_rows(run.run_info)
    if gates:
        tables.append(
            Table("Gates", ("gate", "threshold", "measured", "result"), gates)
        )
    tables.extend(_kpi_tables(kpis))
    return tables


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(
    title: str, notes: list[str], tables: list[Table], errors: list[str] | None = None
) -> str:
    """Render the title, the run's errors, plain-word notes and tables as Markdown."""
    lines = [f"# {title}", ""]
    for error in errors or []:
        lines += [f"**Error:** {_markdown_cell(error)}", ""]
    if notes:
        lines += ["## Missing data", ""] + [f"- {note}" for note in notes] + [""]
    for table in tables:
        lines += [f"## {table.title}", ""]
        lines.append("| " + " | ".join(table.headers) + " |")
        lines.append("|" + "---|" * len(table.headers))
        for row in table.rows:
            lines.append("| " + " | ".join(_markdown_cell(c) for c in row) + " |")
        lines.append("")
        lines += [f"- {note}" for note in table.notes]
        if table.notes:
            lines.append("")
    return "\n".join(lines)


def to_html(tables: list[Table]) -> str:
    """Render the tables as HTML, with every cell escaped."""
    parts = []
    for table in tables:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in table.rows
        )
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in table.notes)
        parts.append(
            f"<h2>{html.escape(table.title)}</h2>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            + notes
        )
    return "\n".join(parts)
