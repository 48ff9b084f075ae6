"""Tests for `python -m analysis`: the report files, partial runs and bad input."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import analysis
from analysis.__main__ import main

REPO = Path(__file__).resolve().parents[2]


def test_report_writes_three_files(scaling_run, fixtures):
    status = main(
        [
            "report",
            str(scaling_run),
            "--events-json",
            str(fixtures / "scaling_activities.json"),
            "--cloudwatch-json",
            str(fixtures / "cloudwatch_capacity.json"),
            "--resource-id",
            "service/msgload/consumer",
            "--backlog-threshold",
            "1000",
        ]
    )
    assert status == 0
    page = (scaling_run / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "<script" not in page
    summary = (scaling_run / "summary.md").read_text()
    assert "| SQS | 100.0 | 12.0 | 30.0 | 45.0 | 900.0 |" in summary
    assert "| max drain s | 60.0 | 150.0 | FAIL |" in summary
    assert "| 60.0 | 149.9 | 3,000.0 | 150.0 |" in summary
    timeline = pd.read_csv(scaling_run / "timeline.csv")
    assert timeline["timestamp"].iloc[0] == "2026-12-04T15:17:00+00:00"


def test_run_that_failed_early_still_reports(tmp_path, capsys):
    run_dir = tmp_path / "20261204T151700Z-sqs"
    run_dir.mkdir()
    (run_dir / "run.json").write_text(
        json.dumps(
            {
                "scenario": "sqs",
                "started_at": "2026-12-04T15:17:00+00:00",
                "ended_at": "2026-12-04T15:17:04+00:00",
                "services": {},
            }
        )
    )
    (run_dir / "locust_stats_history.csv").write_text(
        "Timestamp,User Count,Type,Name,Requests/s,Failures/s,Total Request Count,"
        "Total Failure Count\n"
    )
    assert main(["report", str(run_dir)]) == 0
    summary = (run_dir / "summary.md").read_text()
    assert "backlog.csv is missing" in summary
    assert "locust_stats_history.csv has no rows" in summary
    assert "backlog.csv is missing" in (run_dir / "report.html").read_text()
    assert "Note: backlog.csv is missing" in capsys.readouterr().out


def test_missing_folder_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "absent")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("Error: Run folder")
    assert len(error.splitlines()) == 1


def test_malformed_events_json_exits_2(scaling_run, tmp_path, capsys):
    broken = tmp_path / "events.json"
    broken.write_text('{"ScalingActivities": [')
    assert main(["report", str(scaling_run), "--events-json", str(broken)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_live_without_endpoint_exits_2(scaling_run, capsys):
    assert main(["report", str(scaling_run), "--live"]) == 2
    assert "--endpoint-url" in capsys.readouterr().err


def test_live_report_from_moto(scaling_run, moto_url, aws_env):
    from analysis.aws import make_client

    client = make_client("cloudwatch", "us-east-1", moto_url)
    client.put_metric_data(
        Namespace="AWS/SQS",
        MetricData=[
            {
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": "cli-q"}],
                "Timestamp": pd.Timestamp("2026-12-04T15:19:00Z").to_pydatetime(),
                "Value": 1234.0,
            }
        ],
    )
    status = main(
        [
            "report",
            str(scaling_run),
            "--live",
            "--endpoint-url",
            moto_url,
            "--queue-name",
            "cli-q",
        ]
    )
    assert status == 0
    timeline = pd.read_csv(scaling_run / "timeline.csv", index_col="timestamp")
    column = "SQS visible cli-q (CloudWatch)"
    assert timeline.loc["2026-12-04T15:19:00+00:00", column] == 1234.0


def test_queries_command_prints_json(capsys):
    assert main(["queries", "--queue-name", "q1"]) == 0
    queries = json.loads(capsys.readouterr().out)
    assert [query["Label"] for query in queries][:2] == [
        "SQS|q1|visible",
        "SQS|q1|in_flight",
    ]


def test_import_loads_no_locust_gevent_or_pandas():
    code = (
        "import sys, analysis; "
        "print(sorted(m for m in ('locust', 'gevent', 'users', 'pandas') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_package_all_lists_modules():
    for name in analysis.__all__:
        module = __import__(f"analysis.{name}", fromlist=["__all__"])
        assert module.__all__, name
        for exported in module.__all__:
            assert hasattr(module, exported), f"analysis.{name}.{exported}"


def test_folder_without_run_json_exits_2(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a run")
    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"Error: Run folder {tmp_path} has no run.json; give a run folder written "
        "by msgload."
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_empty_folder_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "has no run.json" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_file_as_run_dir_exits_2(tmp_path, capsys):
    run_file = tmp_path / "run.json"
    run_file.write_text("{}")
    assert main(["report", str(run_file)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"Error: {run_file} is not a folder;")


@pytest.mark.parametrize(
    ("option", "value"),
    [("--bin-s", "0"), ("--bin-s", "-10"), ("--backlog-threshold", "-1")],
)
def test_out_of_range_option_exits_2(scaling_run, capsys, option, value):
    with pytest.raises(SystemExit) as stopped:
        main(["report", str(scaling_run), option, value])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"argument {option}: invalid value '{value}'" in error
    assert not (scaling_run / "summary.md").exists()


def test_summary_notes_late_messages_and_errors(scaling_run):
    run_json = scaling_run / "run.json"
    run_info = json.loads(run_json.read_text())
    run_info["services"]["SQS"].update(lost=40, waiting_at_end=25)
    run_info["error"] = "The process ended before the test finished."
    run_json.write_text(json.dumps(run_info))
    assert main(["report", str(scaling_run)]) == 0
    summary = (scaling_run / "summary.md").read_text()
    assert (
        "SQS: 40 messages were not consumed by the end and 25 were still waiting "
        "in the backlog, so some may be late rather than lost"
    ) in summary
    error_line = summary.splitlines()[2]
    assert error_line.startswith("**Error:** msgload recorded an error")
    assert error_line.endswith("The process ended before the test finished.")
    page = (scaling_run / "report.html").read_text()
    assert "<p class='error'>Error: msgload recorded an error" in page
