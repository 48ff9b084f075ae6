"""The end-of-run summary: one row per service from Locust's stats and the ledger."""

from locust.stats import RequestStats, StatsEntry

from users.ledger import Ledger

__all__ = [
    "END_TO_END",
    "PUBLISH_OPERATIONS",
    "format_notes",
    "format_table",
    "summarize",
]

# The operation is the first word of a stats entry's name ("SendMessageBatch q").
PUBLISH_OPERATIONS = frozenset(
    {
        "SendMessage",
        "SendMessageBatch",
        "Publish",
        "PublishBatch",
        "PutRecord",
        "PutRecords",
        "Produce",
        "basic.publish",
        "SEND",
    }
)
END_TO_END = "end-to-end"
PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}


def _operation(entry_name: str) -> str:
    return entry_name.split(" ", 1)[0]


def _merged(entries: list[StatsEntry]) -> StatsEntry | None:
    if not entries:
        return None
    merged = StatsEntry(entries[0].stats, "merged", entries[0].method)
    for entry in entries:
        merged.extend(entry)
    return merged


def _percentiles(entry: StatsEntry | None) -> dict[str, float | None]:
    if entry is None or entry.num_requests - entry.num_none_requests == 0:
        return dict.fromkeys(PERCENTILES)
    return {
        key: float(entry.get_response_time_percentile(fraction))
        for key, fraction in PERCENTILES.items()
    }


def summarize(
    stats: RequestStats, ledger: Ledger, publishing_stopped_at=None, sampler=None
) -> dict[str, dict]:
    """Return the summary of every service that sent or received anything.

    messages/s runs from the first acknowledgement to the moment publishing stopped
    (or the last acknowledgement when it never stopped), so a broker that died
    before the end lowers the rate instead of vanishing from it.
    """
    by_service: dict[str, list[StatsEntry]] = {}
    for entry in stats.entries.values():
        by_service.setdefault(entry.method, []).append(entry)
    services = sorted(set(by_service) | set(ledger.services))
    stopped_s = (
        None if publishing_stopped_at is None else publishing_stopped_at.timestamp()
    )
    summary = {}
    for name in services:
        row = _service_row(by_service.get(name, []), ledger, name, stopped_s)
        row["waiting_at_end"] = sampler.messages_waiting(name) if sampler else None
        summary[name] = row
    return summary


def _service_row(
    entries: list[StatsEntry], ledger: Ledger, service: str, stopped_s: float | None
) -> dict:
    publish = [e for e in entries if _operation(e.name) in PUBLISH_OPERATIONS]
    end_to_end = [e for e in entries if _operation(e.name) == END_TO_END]
    counts = ledger.services.get(service)
    published = counts.published if counts else 0
    span_s = 0.0
    if counts and counts.first_ack_s is not None and counts.last_ack_s is not None:
        end_s = counts.last_ack_s
        if stopped_s is not None and stopped_s > counts.first_ack_s:
            end_s = max(stopped_s, end_s)
        span_s = end_s - counts.first_ack_s
    return {
        "published": published,
        "consumed": counts.consumed_unique if counts else 0,
        "end_to_end_samples": sum(e.num_requests for e in end_to_end),
        "duplicates": counts.duplicates if counts else 0,
        "out_of_order": counts.out_of_order if counts else 0,
        "lost": counts.lost if counts else 0,
        "from_other_runs": counts.other_runs if counts else 0,
        "failures": sum(e.num_failures for e in entries),
        "requests": sum(e.num_requests for e in entries),
        "messages_per_s": round(published / span_s, 1) if span_s > 0 else None,
        "publish_ms": _percentiles(_merged(publish)),
        "end_to_end_ms": _percentiles(_merged(end_to_end)),
        "publish_entries": sorted(e.name for e in publish),
        "end_to_end_entries": sorted(e.name for e in end_to_end),
    }


COLUMNS = [
    ("service", 10),
    ("msgs/s", 8),
    ("published", 9),
    ("consumed", 9),
    ("publish p50/p95/p99 ms", 22),
    ("end-to-end p50/p95/p99 ms", 25),
    ("failures", 8),
    ("dups", 6),
    ("out-of-order", 12),
    ("lost", 6),
]


def _triple(percentiles: dict) -> str:
    if percentiles["p50"] is None:
        return "-"
    return "/".join(f"{percentiles[key]:g}" for key in ("p50", "p95", "p99"))


def format_table(summary: dict[str, dict]) -> str:
    """Return the summary as a plain-text table, one row per service."""
    lines = ["  ".join(title.rjust(width) for title, width in COLUMNS)]
    for service, row in summary.items():
        rate = row["messages_per_s"]
        cells = [
            service,
            "-" if rate is None else f"{rate:g}",
            str(row["published"]),
            str(row["consumed"]),
            _triple(row["publish_ms"]),
            _triple(row["end_to_end_ms"]),
            str(row["failures"]),
            str(row["duplicates"]),
            str(row["out_of_order"]),
            str(row["lost"]),
        ]
        widths = [width for _, width in COLUMNS]
        padded = (cell.rjust(width) for cell, width in zip(cells, widths, strict=True))
        lines.append("  ".join(padded))
    return "\n".join(lines)


def format_notes(summary: dict[str, dict]) -> list[str]:
    """Return the sentences a person needs to read the table right."""
    notes = []
    for service, row in summary.items():
        waiting = row.get("waiting_at_end") or 0
        if row["lost"] and waiting:
            notes.append(
                f"{service}: {row['lost']} messages were not consumed by the end and "
                f"{waiting} were still waiting in the backlog, so some may be late "
                "rather than lost; a longer --drain-s (make: DRAIN) or a lower rate "
                "tells them apart."
            )
        if row.get("from_other_runs"):
            notes.append(
                f"{service}: {row['from_other_runs']} messages left by earlier runs "
                "were received and not counted."
            )
    return notes
