"""Tests for report.html: the sentences under the latency plot."""

import html
import shutil

from analysis.read import read_run
from analysis.report import LATENCY_CAPTION, latency_caption, write_report

KAFKA_JOIN_SENTENCE = (
    "Kafka end-to-end: Locust's percentiles leave out the first 380 messages "
    "(up to 16:18:49 UTC), whose median was 1,400 ms and maximum 3,080 ms."
)


def test_caption_names_early_kafka_spike(tmp_path, fixtures):
    run_dir = tmp_path / "20261204T161845Z-kafka"
    shutil.copytree(fixtures / "run_kafka_join", run_dir)
    assert latency_caption(read_run(run_dir)) == [LATENCY_CAPTION, KAFKA_JOIN_SENTENCE]


def test_report_page_shows_caption(tmp_path, fixtures):
    run_dir = tmp_path / "20261204T161845Z-kafka"
    shutil.copytree(fixtures / "run_kafka_join", run_dir)
    page = write_report(read_run(run_dir)).html.read_text()
    latency = page.index("<h2>Latency per service</h2>")
    assert page.index(html.escape(KAFKA_JOIN_SENTENCE)) > latency


def test_caption_general_when_start_covered(scaling_run):
    # Every entry of the scaling run has percentiles from its first row.
    assert latency_caption(read_run(scaling_run)) == [LATENCY_CAPTION]
