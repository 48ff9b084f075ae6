"""Tests for the report's figures: colours, line styles, legends and early spikes."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

from analysis import plots
from analysis.events import read_events_json, select_events
from analysis.read import read_run
from analysis.timeline import build_timeline

SEVEN_SERVICES = ("SQS", "SQS FIFO", "SNS", "Kinesis", "Kafka", "RabbitMQ", "ActiveMQ")
HISTORY_HEADER = (
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,100%,"
    "Total Request Count,Total Failure Count,Total Median Response Time,"
    "Total Max Response Time\n"
)
START_S = 1796401120


def write_seven_service_run(run_dir: Path) -> Path:
    """Write a one-minute run of all seven services, 100 messages per 10 s each."""
    run_dir.mkdir()
    services = {
        name: {
            "publish_entries": [f"Send {name.lower()}"],
            "end_to_end_entries": [f"end-to-end {name.lower()}"],
        }
        for name in SEVEN_SERVICES
    }
    run_info = {
        "scenario": "compare",
        "started_at": "2026-12-04T16:18:40+00:00",
        "ended_at": "2026-12-04T16:19:40+00:00",
        "services": services,
    }
    (run_dir / "run.json").write_text(json.dumps(run_info))
    history = [HISTORY_HEADER]
    backlog = ["timestamp,service,resource,metric,value\n"]
    for step in range(6):
        stamp = START_S + 10 * step
        count = 100 * (step + 1)
        for name in SEVEN_SERVICES:
            for entry in (f"Send {name.lower()}", f"end-to-end {name.lower()}"):
                history.append(
                    f"{stamp},7,{name},{entry},10,0,20,40,50,60,{count},0,20,60\n"
                )
            iso = pd.Timestamp(stamp, unit="s", tz="UTC").isoformat()
            backlog.append(f"{iso},{name},{name.lower()}-queue,visible,{step * 10}\n")
    (run_dir / "locust_stats_history.csv").write_text("".join(history))
    (run_dir / "backlog.csv").write_text("".join(backlog))
    return run_dir


@pytest.fixture
def seven_services(tmp_path):
    return build_timeline(read_run(write_seven_service_run(tmp_path / "run")))


@pytest.fixture
def kafka_join(tmp_path, fixtures):
    run_dir = tmp_path / "20261204T161845Z-kafka"
    shutil.copytree(fixtures / "run_kafka_join", run_dir)
    return build_timeline(read_run(run_dir))


def legend_colours(axis) -> dict[str, str]:
    legend = axis.get_legend()
    return {
        text.get_text(): to_hex(handle.get_color())
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True)
    }


def test_rates_legend_distinct_colour_per_service(seven_services):
    rates = plots.timeline_figure(seven_services).axes[0]
    colours = legend_colours(rates)
    service_colours = [colours[name] for name in SEVEN_SERVICES]
    assert len(set(service_colours)) == 7


def test_rates_legend_one_entry_per_service(seven_services):
    rates = plots.timeline_figure(seven_services).axes[0]
    labels = [text.get_text() for text in rates.get_legend().get_texts()]
    assert sorted(labels[:7]) == sorted(SEVEN_SERVICES)
    assert "publish requests/s" in labels
    assert "consumed messages/s" in labels


def test_service_keeps_colour_in_every_figure(seven_services):
    rates = plots.timeline_figure(seven_services).axes[0]
    expected = legend_colours(rates)["Kafka"]
    latency = plots.latency_figure(seven_services)
    kafka_latency = next(a for a in latency.axes if a.get_title().startswith("Kafka"))
    backlog = plots.backlog_figure(seven_services)
    kafka_backlog = next(a for a in backlog.axes if a.get_title().startswith("Kafka"))
    assert to_hex(kafka_latency.get_lines()[-1].get_color()) == expected
    assert to_hex(kafka_backlog.get_lines()[0].get_color()) == expected


def test_publish_dashed_and_consumed_solid(seven_services):
    rates = plots.timeline_figure(seven_services).axes[0]
    kafka = plots.SERVICE_COLOURS["Kafka"]
    styles = {
        line.get_linestyle()
        for line in rates.get_lines()
        if to_hex(line.get_color()) == to_hex(kafka)
    }
    assert styles == {"--", "-"}


def assert_legends_inside(figure) -> None:
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    page = figure.bbox
    legends = [a.get_legend() for a in figure.axes if a.get_legend()] + figure.legends
    assert legends
    for legend in legends:
        box = legend.get_window_extent(renderer)
        assert box.x0 >= page.x0, legend.get_texts()[0]
        assert box.x1 <= page.x1, legend.get_texts()[0]
        assert box.y0 >= page.y0, legend.get_texts()[0]
        assert box.y1 <= page.y1, legend.get_texts()[0]
        for axis in figure.axes:
            plotted = axis.get_window_extent(renderer)
            assert not box.overlaps(plotted), legend.get_texts()[0]


def test_legends_fit_figure_without_covering_axes(seven_services):
    assert_legends_inside(plots.timeline_figure(seven_services))
    assert_legends_inside(plots.latency_figure(seven_services))
    assert_legends_inside(plots.backlog_figure(seven_services))


def test_event_legend_fits_below_axes(scaling_run, fixtures):
    run = read_run(scaling_run)
    found = read_events_json(
        fixtures / "scaling_activities.json", ["service/msgload/consumer"]
    )
    timeline = build_timeline(run, events=select_events(found, *run.window()))
    figure = plots.timeline_figure(timeline)
    labels = [text.get_text() for text in figure.legends[0].get_texts()]
    assert "scale out" in labels
    assert_legends_inside(figure)


def test_early_spike_drawn_in_latency_plot(kafka_join):
    axis = plots.latency_figure(kafka_join).axes[0]
    lines = {line.get_label(): line for line in axis.get_lines()}
    e2e_max = lines["end-to-end max"].get_ydata()
    assert max(e2e_max) == pytest.approx(3079.74, abs=0.01)
    assert max(lines["end-to-end p99"].get_ydata()) < 3000


def test_unknown_services_get_unused_colours():
    colours = plots.service_colours(["Kafka", "Pulsar", "NATS"])
    assert colours["Kafka"] == plots.SERVICE_COLOURS["Kafka"]
    assert len({to_hex(c) for c in colours.values()}) == 3
    assert not {colours["Pulsar"], colours["NATS"]} & set(
        plots.SERVICE_COLOURS.values()
    )
