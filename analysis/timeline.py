"""Merge Locust history, backlog samples, CloudWatch metrics and events in UTC bins.

Every time is timezone-aware UTC, so the host's TZ changes nothing. Within a bin,
rates come from the growth of Locust's cumulative request counts, a percentile is
the highest value Locust reported in the bin, a gauge keeps its maximum (never a
sum) and a counter is summed. A bin with no sample stays NaN.

The max column of a publish or end-to-end entry is the highest response time seen
in the bin: Locust's 10 s window maximum (its "100%" column), or the running
maximum ("Total Max Response Time") on the rows where it rose. The running maximum
matters at the start: Locust 2.x leaves the requests of an entry's first second
out of every 10 s window, so a spike there shows only in the running totals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pandas as pd

from analysis.cloudwatch import COUNTER_METRICS
from analysis.read import RunData, empty_samples

__all__ = [
    "BACKLOG_METRICS",
    "DEFAULT_BIN_S",
    "PUBLISH_OPERATIONS",
    "Timeline",
    "build_timeline",
    "early_requests",
    "entry_roles",
    "latency_columns",
    "sample_labels",
]

logger = logging.getLogger(__name__)

DEFAULT_BIN_S = 10
PERCENTILES = ("p50", "p95", "p99")
# Locust's "100%" column: the maximum of its current 10 s window.
WINDOW_MAX = "p100"
# Backlog metrics in the order a service's backlog series prefers them.
BACKLOG_METRICS = ("visible", "consumer_lag", "queue_depth", "iterator_age_ms")
CAPACITY_METRICS = ("running_tasks",)
# First words of Locust entry names that publish, used when run.json is absent.
PUBLISH_OPERATIONS = frozenset(
    {
        "SendMessage",
        "SendMessageBatch",
        "Publish",
        "PublishBatch",
        "PutRecord",
        "PutRecords",
        "Produce",
        "BasicPublish",
        "Send",
    }
)
END_TO_END_PREFIX = "end-to-end "


@dataclass
class Timeline:
    """The merged timeline: one row per bin, plus the binned samples behind it."""

    frame: pd.DataFrame
    samples: pd.DataFrame
    raw_samples: pd.DataFrame
    events: pd.DataFrame
    bin_s: int
    history_types: tuple[str, ...] = ()

    def backlog_samples(self, service: str) -> pd.Series:
        """Return a service's backlog at each sample time, summed over resources.

        Each resource keeps its last sampled value until its next sample, so
        resources sampled a few milliseconds apart add up correctly.
        """
        samples = self.raw_samples[self.raw_samples["service"] == service]
        for metric in BACKLOG_METRICS:
            chosen = samples[samples["metric"] == metric]
            if chosen.empty:
                continue
            if (chosen["source"] == "backlog").any():
                chosen = chosen[chosen["source"] == "backlog"]
            return _sum_resources(chosen).rename(metric)
        return pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC"))

    def capacity_samples(self) -> pd.Series:
        """Return running consumer tasks at each sample time, summed over services."""
        chosen = self.raw_samples[self.raw_samples["metric"].isin(CAPACITY_METRICS)]
        if chosen.empty:
            return pd.Series([], dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
        return _sum_resources(chosen).rename("capacity")

    def services(self) -> list[str]:
        """Return every service seen in Locust's history or in the samples."""
        names = set(self.raw_samples["service"].dropna())
        names.update(t for t in self.history_types if t)
        return sorted(names)

    def services_with_backlog(self) -> list[str]:
        """Return the services that have at least one backlog sample."""
        has_backlog = self.raw_samples["metric"].isin(BACKLOG_METRICS)
        return sorted(self.raw_samples.loc[has_backlog, "service"].unique())

    def backlog(self, service: str) -> pd.Series:
        """Return a service's backlog per bin, summed over its resources.

        Local samples are preferred to CloudWatch ones; the first metric of
        BACKLOG_METRICS that the service has is used.
        """
        return self._series(service, BACKLOG_METRICS)

    def capacity(self) -> pd.Series:
        """Return running consumer tasks per bin, summed over every service."""
        return self._series(None, CAPACITY_METRICS)

    def _series(self, service: str | None, metrics: tuple[str, ...]) -> pd.Series:
        samples = self.samples
        if service is not None:
            samples = samples[samples["service"] == service]
        for metric in metrics:
            chosen = samples[samples["metric"] == metric]
            if chosen.empty:
                continue
            if (chosen["source"] == "backlog").any():
                chosen = chosen[chosen["source"] == "backlog"]
            summed = chosen.groupby("timestamp")["value"].sum(min_count=1)
            return summed.reindex(self.frame.index).rename(metric)
        return pd.Series(float("nan"), index=self.frame.index, dtype=float)


def _sum_resources(samples: pd.DataFrame) -> pd.Series:
    wide = samples.pivot_table(
        index="timestamp", columns="resource", values="value", aggfunc="max"
    )
    return wide.sort_index().ffill().sum(axis=1, min_count=1)


def entry_roles(history: pd.DataFrame, run_info: dict) -> pd.DataFrame:
    """Return one row per (type, name) with its role: publish, end_to_end or other."""
    entries = history.loc[~history["is_aggregated"], ["type", "name"]]
    entries = entries.drop_duplicates().reset_index(drop=True)
    listed_publish, listed_e2e = set(), set()
    for service in run_info.get("services", {}).values():
        listed_publish.update(service.get("publish_entries", []))
        listed_e2e.update(service.get("end_to_end_entries", []))

    def role(name: str) -> str:
        if name in listed_e2e or name.startswith(END_TO_END_PREFIX):
            return "end_to_end"
        if name in listed_publish or name.split(" ", 1)[0] in PUBLISH_OPERATIONS:
            return "publish"
        return "other"

    entries["role"] = entries["name"].map(role)
    return entries


def _history_rows(history: pd.DataFrame, run_info: dict) -> pd.DataFrame:
    """Return the history's rows with each entry's role, sorted by entry and time.

    Percentiles of 0 become NaN, because Locust writes 0 while its 10 s window of
    response times is still empty.
    """
    needed = ["timestamp", "type", "name", "is_aggregated", "request_count"]
    needed += ["failure_count", "user_count", "median_ms", "max_ms"]
    needed += [*PERCENTILES, WINDOW_MAX]
    rows = history[[column for column in needed if column in history.columns]]
    roles = entry_roles(history, run_info).set_index(["type", "name"])["role"]
    keys = pd.MultiIndex.from_frame(rows[["type", "name"]])
    rows = rows.assign(role=roles.reindex(keys).to_numpy())
    rows = rows.sort_values(["type", "name", "timestamp"], kind="stable")
    for percentile in (*PERCENTILES, WINDOW_MAX):
        if percentile in rows.columns:
            rows[percentile] = rows[percentile].mask(rows[percentile] == 0)
    return rows


def _row_max_ms(rows: pd.DataFrame) -> pd.Series:
    """Return each row's highest response time known from Locust's history.

    That is the window maximum, or the running maximum where it rose since the
    entry's previous row, because the request that raised it came in between.
    """
    candidates = []
    if WINDOW_MAX in rows.columns:
        candidates.append(rows[WINDOW_MAX])
    if "max_ms" in rows.columns:
        previous = rows.groupby(["type", "name"], sort=False)["max_ms"].shift()
        risen = rows["max_ms"] > previous.fillna(0)
        candidates.append(rows["max_ms"].where(risen))
    if not candidates:
        return pd.Series(float("nan"), index=rows.index)
    return pd.concat(candidates, axis=1).max(axis=1)


def _history_columns(history: pd.DataFrame, run_info: dict, bin_s: int) -> pd.DataFrame:
    """Return rates, percentiles and failures per bin from full-history rows."""
    if history.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
    rows = _history_rows(history, run_info)
    rows["bin"] = rows["timestamp"].dt.floor(f"{bin_s}s")
    grouped = rows.groupby(["type", "name"], sort=False)
    for cumulative, growth in (
        ("request_count", "requests"),
        ("failure_count", "fails"),
    ):
        # Counts start at zero, so an entry's first row grew from zero.
        first_growth = rows[cumulative]
        rows[growth] = grouped[cumulative].diff().fillna(first_growth).clip(lower=0)
    rows["max"] = _row_max_ms(rows)

    columns = {}
    per_entry = rows[~rows["is_aggregated"]]
    columns["failures/s"] = per_entry.groupby("bin")["fails"].sum() / bin_s
    aggregated = rows[rows["is_aggregated"]]
    if "user_count" in aggregated.columns:
        columns["users"] = aggregated.groupby("bin")["user_count"].max()
    labels = {"publish": ("publish", "publish requests/s"), "end_to_end": ("e2e", None)}
    for (service, role), group in per_entry.groupby(["type", "role"]):
        if role not in labels:
            continue
        prefix, rate_label = labels[role]
        rate_label = rate_label or "consumed messages/s"
        by_bin = group.groupby("bin")
        columns[f"{service} {rate_label}"] = by_bin["requests"].sum() / bin_s
        for percentile in (*PERCENTILES, "max"):
            if percentile in group.columns:
                columns[f"{service} {prefix} {percentile} ms"] = by_bin[
                    percentile
                ].max()
    return pd.DataFrame(columns)


def early_requests(history: pd.DataFrame, run_info: dict) -> pd.DataFrame:
    """Return, per publish and end-to-end entry, the requests before its percentiles.

    Locust 2.x leaves an entry's first second out of every 10 s window, so those
    requests show only in the running totals. Each row gives the entry's service,
    role and name, the number of early requests (count) and the time of the last
    row without percentiles (until). Their median_ms and max_ms come from the
    running totals. later_max_ms is the highest window maximum Locust reported
    afterwards, or NaN if there was none.
    """
    columns = ["service", "role", "name", "count", "until"]
    columns += ["median_ms", "max_ms", "later_max_ms"]
    if history.empty or "request_count" not in history.columns:
        return pd.DataFrame(columns=columns)
    rows = _history_rows(history, run_info)
    rows = rows[rows["role"].isin(["publish", "end_to_end"])]
    found = []
    for (service, name), entry in rows.groupby(["type", "name"], sort=False):
        found.append(_early_row(service, name, entry))
    early = pd.DataFrame([row for row in found if row is not None], columns=columns)
    return early.reset_index(drop=True)


def _early_row(service: str, name: str, entry: pd.DataFrame) -> dict | None:
    present = [column for column in PERCENTILES if column in entry.columns]
    if not present:
        return None
    has_percentile = entry[present].notna().any(axis=1).to_numpy()
    first = int(has_percentile.argmax()) if has_percentile.any() else len(entry)
    if first == 0:
        return None
    last_early = entry.iloc[first - 1]
    if not last_early["request_count"] > 0:
        return None
    later = entry.iloc[first:]
    later_max_column = WINDOW_MAX if WINDOW_MAX in later.columns else present[-1]
    return {
        "service": service,
        "role": last_early["role"],
        "name": name,
        "count": int(last_early["request_count"]),
        "until": last_early["timestamp"],
        "median_ms": last_early.get("median_ms", float("nan")),
        "max_ms": last_early.get("max_ms", float("nan")),
        "later_max_ms": later[later_max_column].max(),
    }


def _bin_samples(samples: pd.DataFrame, bin_s: int) -> pd.DataFrame:
    """Aggregate long samples per bin: counters summed, gauges by their maximum."""
    if samples.empty:
        return samples.assign(source=pd.Series([], dtype=str))
    samples = samples.assign(bin=samples["timestamp"].dt.floor(f"{bin_s}s"))
    keys = ["bin", "service", "resource", "metric", "source"]
    is_counter = samples["metric"].isin(COUNTER_METRICS)
    gauges = samples[~is_counter].groupby(keys)["value"].max()
    counters = samples[is_counter].groupby(keys)["value"].sum(min_count=1)
    binned = pd.concat([gauges, counters]).reset_index()
    return binned.rename(columns={"bin": "timestamp"})


def sample_labels(samples: pd.DataFrame) -> pd.Series:
    """Return the timeline column of each sample: "service metric resource [source]"."""
    suffix = samples["source"].map({"cloudwatch": " (CloudWatch)"}).fillna("")
    label = samples["service"] + " " + samples["metric"] + " " + samples["resource"]
    return label.str.strip() + suffix


def latency_columns(service: str) -> list[str]:
    """Return a service's publish and end-to-end percentile and max column names."""
    return [
        f"{service} {prefix} {percentile} ms"
        for prefix in ("publish", "e2e")
        for percentile in (*PERCENTILES, "max")
    ]


def _sample_columns(binned: pd.DataFrame) -> pd.DataFrame:
    if binned.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC"))
    return binned.assign(column=sample_labels(binned)).pivot_table(
        index="timestamp", columns="column", values="value", aggfunc="max"
    )


def _event_column(events: pd.DataFrame, bin_s: int) -> pd.Series:
    if events.empty:
        return pd.Series([], dtype=str, index=pd.DatetimeIndex([], tz="UTC"))
    text = events["source"] + " " + events["kind"] + ": " + events["description"]
    bins = events["timestamp"].dt.floor(f"{bin_s}s")
    return text.groupby(bins).agg("; ".join)


def _bin_index(parts: list[pd.Index], start, end, bin_s: int) -> pd.DatetimeIndex:
    stamps = [part for part in parts if len(part)]
    first = [start.floor(f"{bin_s}s")] if start is not None else []
    last = [end.floor(f"{bin_s}s")] if end is not None else []
    first += [part.min() for part in stamps]
    last += [part.max() for part in stamps]
    if not first or not last:
        return pd.DatetimeIndex([], tz="UTC", name="timestamp")
    return pd.date_range(
        min(first), max(last), freq=f"{bin_s}s", tz="UTC", name="timestamp"
    )


def build_timeline(
    run: RunData,
    cloudwatch: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    bin_s: int = DEFAULT_BIN_S,
) -> Timeline:
    """Merge one run's data, CloudWatch samples and events into a Timeline."""
    cloudwatch = cloudwatch if cloudwatch is not None else empty_samples()
    samples = pd.concat(
        [
            run.backlog.assign(source="backlog"),
            cloudwatch.assign(source="cloudwatch"),
        ],
        ignore_index=True,
    )
    binned = _bin_samples(samples, bin_s)
    events = events if events is not None else pd.DataFrame()
    history = _history_columns(run.history, run.run_info, bin_s)
    measured = _sample_columns(binned)
    event_text = _event_column(events, bin_s) if not events.empty else None

    start, end = run.window()
    parts = [history.index, measured.index]
    if event_text is not None:
        parts.append(pd.DatetimeIndex(event_text.index))
    index = _bin_index(parts, start, end, bin_s)
    frame = pd.concat([history, measured], axis=1).reindex(index)
    if event_text is not None:
        frame["events"] = event_text.reindex(index)
    frame.index.name = "timestamp"
    logger.info("Built a timeline of %s bins of %s s", len(frame), bin_s)
    types = tuple(run.history["type"].unique()) if not run.history.empty else ()
    return Timeline(frame, binned, samples, events, bin_s, types)
