"""Read one run's results folder: Locust's CSV files, backlog samples and run.json.

Locust has renamed its CSV columns over the years ("# requests" became "Request
Count", "Method" became "Type", the "Total" row became "Aggregated"), so every
reader maps the header it finds onto one set of snake_case names before it returns.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError

__all__ = [
    "AGGREGATED_NAME",
    "RunData",
    "check_run_folder",
    "read_backlog_csv",
    "read_failures_csv",
    "read_history_csv",
    "read_run",
    "read_run_json",
    "read_stats_csv",
]

logger = logging.getLogger(__name__)

AGGREGATED_NAME = "Aggregated"
STATS_FILE = "locust_stats.csv"
HISTORY_FILE = "locust_stats_history.csv"
FAILURES_FILE = "locust_failures.csv"
BACKLOG_FILE = "backlog.csv"
RUN_FILE = "run.json"

# Header spellings seen in Locust's CSV files, lower-cased, mapped to one name.
# Locust 2.x writes the first spelling of each; the others come from older files.
_COLUMN_ALIASES = {
    "timestamp": "timestamp",
    "user count": "user_count",
    "type": "type",
    "method": "type",
    "name": "name",
    "request count": "request_count",
    "total request count": "request_count",
    "# requests": "request_count",
    "failure count": "failure_count",
    "total failure count": "failure_count",
    "# failures": "failure_count",
    "median response time": "median_ms",
    "total median response time": "median_ms",
    "average response time": "average_ms",
    "total average response time": "average_ms",
    "min response time": "min_ms",
    "total min response time": "min_ms",
    "max response time": "max_ms",
    "total max response time": "max_ms",
    "average content size": "average_size_bytes",
    "total average content size": "average_size_bytes",
    "requests/s": "requests_per_s",
    "failures/s": "failures_per_s",
    "requests failed/s": "failures_per_s",
    "error": "error",
    "occurrences": "occurrences",
    "first seen": "first_seen",
    "last seen": "last_seen",
}
_PERCENTILE_HEADER = re.compile(r"^(\d+(?:\.\d+)?)%?$")
_TEXT_COLUMNS = {"timestamp", "type", "name", "error", "first_seen", "last_seen"}


@dataclass
class RunData:
    """Everything read from one results folder; a file that was absent is empty."""

    run_dir: Path
    stats: pd.DataFrame
    history: pd.DataFrame
    failures: pd.DataFrame
    backlog: pd.DataFrame
    run_info: dict
    missing: list[str] = field(default_factory=list)

    def window(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """Return the run's UTC start and end, from run.json or else the samples."""
        start = _parse_time(self.run_info.get("started_at"))
        end = _parse_time(self.run_info.get("ended_at"))
        stamps = [
            frame["timestamp"]
            for frame in (self.history, self.backlog)
            if not frame.empty
        ]
        if stamps:
            every = pd.concat(stamps)
            start = start if start is not None else every.min()
            end = end if end is not None else every.max()
        return start, end


def percentile_column(header: str) -> str | None:
    """Return "p95" for "95%", "p99.9" for "99.9%" and None for other headers."""
    match = _PERCENTILE_HEADER.match(header.strip())
    if match is None:
        return None
    return f"p{float(match.group(1)):g}"


def _column_name(header: object) -> str | None:
    key = str(header).strip().lower()
    return _COLUMN_ALIASES.get(key) or percentile_column(key)


def _normalise_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    renamed = {}
    for header in frame.columns:
        name = _column_name(header)
        if name is None:
            logger.debug("Ignoring unknown column %s in %s", header, path)
            continue
        renamed[header] = name
    frame = frame[list(renamed)].rename(columns=renamed)
    for column in frame.columns:
        is_number = pd.api.types.is_numeric_dtype(frame[column])
        if column not in _TEXT_COLUMNS and not is_number:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _mark_aggregated(frame: pd.DataFrame) -> pd.DataFrame:
    """Name the all-requests row "Aggregated" with an empty type, whatever the version.

    Locust 2.x writes it as type "" and name "Aggregated". Locust 0.x wrote "None"
    and "Total".
    """
    frame["type"] = frame["type"].fillna("").astype(str).replace("None", "")
    frame["name"] = frame["name"].fillna("").astype(str)
    is_total = (frame["type"] == "") & frame["name"].isin([AGGREGATED_NAME, "Total"])
    frame.loc[is_total, "name"] = AGGREGATED_NAME
    frame["is_aggregated"] = is_total
    return frame


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        header = pd.read_csv(path, nrows=0).columns
        text = [h for h in header if _column_name(h) in _TEXT_COLUMNS]
        raw = pd.read_csv(
            path,
            usecols=[h for h in header if _column_name(h) is not None],
            dtype=dict.fromkeys(text, str),
            keep_default_na=False,
            na_values={h: ["N/A", ""] for h in header if h not in text},
        )
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise AnalysisInputError(
            f"{path} is not a readable CSV file ({error}); "
            "delete it or rerun Locust with --csv to write it again."
        ) from error
    except pd.errors.EmptyDataError:
        raw = pd.DataFrame(columns=list(required))
    frame = _normalise_columns(raw, path)
    absent = [column for column in required if column not in frame.columns]
    if absent:
        raise AnalysisInputError(
            f"{path} has no {', '.join(absent)} column, so it is not a Locust CSV "
            "file; pass the folder that Locust's --csv option wrote."
        )
    return frame


def read_stats_csv(path: Path) -> pd.DataFrame:
    """Read locust_stats.csv: one row per request name plus the Aggregated row."""
    frame = _read_csv(path, ("type", "name", "request_count"))
    return _mark_aggregated(frame).reset_index(drop=True)


def _parse_history_timestamps(column: pd.Series) -> pd.Series:
    """Parse Unix seconds (what Locust 2.x writes) or ISO 8601 text into UTC times."""
    seconds = pd.to_numeric(column, errors="coerce")
    if seconds.notna().all():
        return pd.to_datetime(seconds, unit="s", utc=True)
    return pd.to_datetime(column, utc=True, format="ISO8601")


def read_history_csv(path: Path) -> pd.DataFrame:
    """Read locust_stats_history.csv (full history or Aggregated rows only).

    Percentile columns hold Locust's "current" values (its last 10 s window) when
    the run used --csv-full-history, and are NaN where Locust wrote "N/A".
    """
    frame = _read_csv(path, ("timestamp", "type", "name"))
    frame["timestamp"] = _parse_history_timestamps(frame["timestamp"])
    frame = _mark_aggregated(frame)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def read_failures_csv(path: Path) -> pd.DataFrame:
    """Read locust_failures.csv; "First Seen" and "Last Seen" become UTC times."""
    frame = _read_csv(path, ("type", "name", "error", "occurrences"))
    frame["type"] = frame["type"].replace("None", "")
    for column in ("first_seen", "last_seen"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame.reset_index(drop=True)


def read_backlog_csv(path: Path) -> pd.DataFrame:
    """Read backlog.csv (timestamp,service,resource,metric,value) sorted by time."""
    try:
        frame = pd.read_csv(path, dtype={"service": str, "resource": str})
    except pd.errors.EmptyDataError:
        return empty_samples()
    absent = set(empty_samples().columns) - set(frame.columns)
    if absent:
        raise AnalysisInputError(
            f"{path} lacks the column(s) {', '.join(sorted(absent))}; a backlog file "
            "needs timestamp,service,resource,metric,value."
        )
    try:
        frame["timestamp"] = pd.to_datetime(
            frame["timestamp"], utc=True, format="ISO8601"
        )
    except ValueError as error:
        raise AnalysisInputError(
            f"{path} has a timestamp that is not ISO 8601 ({error}); write times "
            "like 2026-12-04T15:17:05+00:00."
        ) from error
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame["resource"] = frame["resource"].fillna("")
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)


def empty_samples() -> pd.DataFrame:
    """Return an empty frame in the long sample shape that backlog.csv uses."""
    return pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "service": pd.Series([], dtype=str),
            "resource": pd.Series([], dtype=str),
            "metric": pd.Series([], dtype=str),
            "value": pd.Series([], dtype=float),
        }
    )


def read_run_json(path: Path) -> dict:
    """Read run.json; raise AnalysisInputError when it is not a JSON object."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise AnalysisInputError(
            f"{path} is not valid JSON (line {error.lineno}, column {error.colno}: "
            f"{error.msg}); fix or delete the file and run the report again."
        ) from error
    if not isinstance(info, dict):
        raise AnalysisInputError(
            f"{path} must hold a JSON object, not a list or value."
        )
    return info


def _parse_time(value: object) -> pd.Timestamp | None:
    if not value:
        return None
    return pd.Timestamp(value).tz_convert("UTC")


def _check_folder(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise AnalysisInputError(
            f"{run_dir} is not a folder; pass the run's results folder, which holds "
            "run.json and the locust_*.csv files."
        )
    if not run_dir.is_dir():
        raise AnalysisInputError(
            f"Run folder {run_dir} not found; pass the folder that holds run.json "
            "and the locust_*.csv files."
        )


def check_run_folder(run_dir: Path) -> None:
    """Raise AnalysisInputError unless run_dir is a folder that holds run.json."""
    run_dir = Path(run_dir)
    _check_folder(run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise AnalysisInputError(
            f"Run folder {run_dir} has no {RUN_FILE}; give a run folder written by "
            "msgload."
        )


def read_run(run_dir: Path) -> RunData:
    """Read every file of a results folder that exists and list what is missing.

    A run that failed early may lack some files; each absent or empty one adds a
    plain sentence to RunData.missing instead of raising.
    """
    run_dir = Path(run_dir)
    _check_folder(run_dir)
    missing: list[str] = []
    run_info = _read_optional(run_dir / RUN_FILE, read_run_json, {}, missing)
    stats = _read_optional(
        run_dir / STATS_FILE, read_stats_csv, pd.DataFrame(), missing
    )
    history = _read_optional(
        run_dir / HISTORY_FILE, read_history_csv, pd.DataFrame(), missing
    )
    failures = _read_optional(
        run_dir / FAILURES_FILE, read_failures_csv, pd.DataFrame(), missing
    )
    backlog = _read_optional(
        run_dir / BACKLOG_FILE, read_backlog_csv, empty_samples(), missing
    )
    _note_empty(history, HISTORY_FILE, missing)
    _note_empty(backlog, BACKLOG_FILE, missing)
    return RunData(run_dir, stats, history, failures, backlog, run_info, missing)


_MISSING_SENTENCES = {
    RUN_FILE: "run.json is missing, so the per-service summary and gates are empty.",
    STATS_FILE: "locust_stats.csv is missing, so there are no totals per request.",
    HISTORY_FILE: (
        "locust_stats_history.csv is missing, so the timeline has no request "
        "rates or latency percentiles."
    ),
    FAILURES_FILE: "locust_failures.csv is missing, so failures are not listed.",
    BACKLOG_FILE: "backlog.csv is missing, so the timeline has no backlog samples.",
}


def _read_optional(path, reader, default, missing: list[str]):
    if not path.is_file():
        missing.append(_MISSING_SENTENCES[path.name])
        logger.info("No %s in %s", path.name, path.parent)
        return default
    return reader(path)


def _note_empty(frame: pd.DataFrame, name: str, missing: list[str]) -> None:
    already_missing = _MISSING_SENTENCES[name] in missing
    if frame.empty and not already_missing:
        missing.append(
            f"{name} has no rows: the run ended before the first sample was written."
        )
