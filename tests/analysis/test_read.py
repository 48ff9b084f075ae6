"""Tests for reading Locust CSV files, backlog samples and run.json."""

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import AnalysisInputError
from analysis.read import (
    read_failures_csv,
    read_history_csv,
    read_run,
    read_stats_csv,
)

# Locust 0.x wrote these stats headers and a "None","Total" row.
OLD_STATS = (
    '"Method","Name","# requests","# failures","Median response time",'
    '"Average response time","Min response time","Max response time",'
    '"Average Content Size","Requests/s"\n'
    '"SQS","SendMessage msgload-sqs",1099,3,340,702,141,5702,2,213.43\n'
    '"None","Total",1099,3,340,702,141,5702,2,213.43\n'
)
# An early history layout: timestamp third, "# requests", "99.999" without "%".
OLD_HISTORY = (
    '"Type","Name","Timestamp","# requests","# failures","Requests/s",'
    '"Requests Failed/s","Median response time","Average response time",'
    '"Min response time","Max response time","Average Content Size","50%","95%",'
    '"99%","99.999","100%"\n'
    '"SQS","SendMessage msgload-sqs",1796397760,10,0,2.0,0.0,20,20,20,20,100,'
    "20,25,30,31,32\n"
    '"None","Total",1796397760,10,0,2.0,0.0,20,20,20,20,100,20,25,30,31,32\n'
)
# Locust 2.x with PERCENTILES_TO_REPORT emptied: no percentile columns at all.
NO_PERCENTILE_HISTORY = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,Total Request Count,"
    "Total Failure Count,Total Median Response Time,Total Average Response Time,"
    "Total Min Response Time,Total Max Response Time,Total Average Content Size\n"
    "1796397760,2,,Aggregated,0.000000,0.000000,0,0,0,0.0,0,0,0\n"
)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_stats_of_locust_2_47(fixtures):
    stats = read_stats_csv(fixtures / "locust_2_47" / "locust_stats.csv")
    publish = stats[stats["name"] == "SendMessage msgload-sqs"].iloc[0]
    assert publish["request_count"] == 60
    assert publish["p95"] == 20
    assert publish["p99.9"] == 20


def test_aggregated_row_has_empty_type(fixtures):
    stats = read_stats_csv(fixtures / "locust_2_47" / "locust_stats.csv")
    aggregated = stats[stats["is_aggregated"]]
    assert list(aggregated["name"]) == ["Aggregated"]
    assert list(aggregated["type"]) == [""]
    assert aggregated.iloc[0]["request_count"] == 180


def test_history_of_locust_2_47_is_utc(fixtures):
    history = read_history_csv(fixtures / "locust_2_47" / "locust_stats_history.csv")
    assert str(history["timestamp"].dt.tz) == "UTC"
    assert history["timestamp"].iloc[0] == pd.Timestamp("2026-12-04T15:22:40Z")


def test_history_na_percentiles_become_nan(fixtures):
    history = read_history_csv(fixtures / "locust_2_47" / "locust_stats_history.csv")
    first = history.iloc[0]
    assert first["name"] == "Aggregated"
    assert pd.isna(first["p95"])


def test_old_stats_headers_parse(tmp_path):
    stats = read_stats_csv(write(tmp_path, "s.csv", OLD_STATS))
    assert list(stats["request_count"]) == [1099, 1099]
    assert list(stats["failure_count"]) == [3, 3]
    assert stats["is_aggregated"].tolist() == [False, True]
    assert stats.iloc[1]["name"] == "Aggregated"
    assert "p95" not in stats.columns


def test_old_history_headers_parse(tmp_path):
    history = read_history_csv(write(tmp_path, "h.csv", OLD_HISTORY))
    assert history["request_count"].tolist() == [10, 10]
    assert history["failures_per_s"].tolist() == [0.0, 0.0]
    assert history["p99.999"].tolist() == [31, 31]
    assert history["timestamp"].iloc[0] == pd.Timestamp("2026-12-04T15:22:40Z")


def test_history_without_percentiles_parses(tmp_path):
    history = read_history_csv(write(tmp_path, "h.csv", NO_PERCENTILE_HISTORY))
    assert history["request_count"].tolist() == [0]
    assert not any(column.startswith("p") for column in history.columns)


def test_quoted_2x_headers_parse(fixtures, tmp_path):
    source = (fixtures / "locust_2_47" / "locust_stats.csv").read_text().splitlines()
    header = ",".join(f'"{name}"' for name in source[0].split(","))
    path = write(tmp_path, "q.csv", "\n".join([header, *source[1:]]) + "\n")
    assert read_stats_csv(path)["request_count"].tolist() == [60, 60, 60, 180]


def test_failures_with_and_without_seen_times(fixtures, tmp_path):
    failures = read_failures_csv(fixtures / "locust_2_47" / "locust_failures.csv")
    assert failures.iloc[0]["occurrences"] == 60
    assert failures.iloc[0]["first_seen"] == pd.Timestamp("2026-12-04T15:22:40Z")
    old = write(
        tmp_path,
        "f.csv",
        '"Method","Name","Error","Occurrences"\n"SQS","X","Boom",4\n',
    )
    assert read_failures_csv(old)["occurrences"].tolist() == [4]


def test_csv_of_another_tool_is_rejected(tmp_path):
    path = write(tmp_path, "s.csv", "a,b\n1,2\n")
    with pytest.raises(AnalysisInputError, match="not a Locust CSV"):
        read_stats_csv(path)


def test_partial_run_lists_missing_files(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "locust_stats_history.csv").write_text(
        NO_PERCENTILE_HISTORY.splitlines()[0] + "\n"
    )
    run = read_run(run_dir)
    assert run.history.empty
    assert any("run.json is missing" in note for note in run.missing)
    assert any("backlog.csv is missing" in note for note in run.missing)
    assert any("locust_stats_history.csv has no rows" in note for note in run.missing)


def test_missing_folder_raises_one_sentence(tmp_path):
    with pytest.raises(AnalysisInputError, match="not found"):
        read_run(tmp_path / "absent")


def test_malformed_run_json_raises(tmp_path):
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(AnalysisInputError, match="not valid JSON"):
        read_run(tmp_path)


def test_run_window_comes_from_run_json(scaling_run):
    start, end = read_run(scaling_run).window()
    assert start == pd.Timestamp("2026-12-04T15:17:00Z")
    assert end == pd.Timestamp("2026-12-04T15:24:00Z")


def test_run_json_list_is_rejected(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps([1, 2]))
    with pytest.raises(AnalysisInputError, match="JSON object"):
        read_run(tmp_path)
