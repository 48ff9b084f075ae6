"""The bench's arithmetic and report, from fixed numbers."""

from bench.measure import percentile
from bench.results import (
    Report,
    Sample,
    check_targets,
    ratio,
    render_markdown,
    summarize,
)


def sample(messages: int, cpu_s: float, p99_ms: float = 20.0) -> Sample:
    return Sample(
        messages=messages, elapsed_s=10.0, cpu_s=cpu_s, p50_ms=5.0, p99_ms=p99_ms
    )


def summaries(suite_rate_messages: int = 9_000) -> dict:
    return {
        "kafka-raw": summarize([sample(10_000, 0.2, 20.0)]),
        "kafka-suite": summarize(
            [Sample(suite_rate_messages, 10.0, 0.25, 6.0, 30.0, stamp_cpu_us=1.0)]
        ),
        "kafka-peer": summarize([]),
        "sqs-raw": summarize([sample(1_000, 0.7)]),
        "sqs-suite": summarize([sample(1_000, 0.77)]),
    }


def test_sample_rates_and_cpu_per_message():
    measured = sample(10_000, 0.2)

    assert measured.messages_per_s == 1_000.0
    assert round(measured.cpu_us_per_message, 6) == 20.0


def test_summary_takes_medians_over_rounds():
    rounds = [sample(1_000, 0.1), sample(3_000, 0.1), sample(2_000, 0.1)]

    summary = summarize(rounds)

    assert summary.rounds == 3
    assert summary.messages_per_s == 200.0


def test_ratio_missing_baseline_is_none():
    assert ratio(5.0, None) is None
    assert ratio(5.0, 0.0) is None
    assert ratio(None, 2.0) is None
    assert ratio(3.0, 2.0) == 1.5


def test_percentile_nearest_rank():
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile([], 0.5) is None


def test_targets_met_at_their_thresholds():
    targets = {t.name: t for t in check_targets(summaries(9_000))}

    assert targets["Kafka messages/s, msgload / raw"].passed
    assert targets["Kafka publish p99, msgload / raw"].measured == 1.5
    assert targets["SQS client CPU per send, msgload / raw"].passed
    share = targets["Stamping share of msgload's Kafka CPU per message"]
    assert round(share.measured, 3) == 0.036


def test_slow_suite_misses_rate_target():
    targets = {t.name: t for t in check_targets(summaries(8_000))}

    rate = targets["Kafka messages/s, msgload / raw"]
    assert round(rate.measured, 2) == 0.8
    assert not rate.passed


def test_markdown_shows_ratios_and_verdicts():
    data = summaries(9_000)
    report = Report(
        date="2026-12-04T16:00:00+00:00",
        machine=["test CPU, 2 cores"],
        method=["fixed numbers"],
        summaries=data,
        baselines={"kafka-suite": "kafka-raw", "sqs-suite": "sqs-raw"},
        targets=check_targets(data),
        findings=["a finding"],
    )

    text = render_markdown(report)

    assert "Date: 2026-12-04T16:00:00+00:00" in text
    assert (
        "| kafka-suite | 1 | 900.0 | 27.8 | 6.0 | 30.0 | 0.90 | 1.39 | 1.50 |" in text
    )
    assert "| kafka-peer | 0 | - |" in text
    assert "| Kafka messages/s, msgload / raw | ≥ 0.9 | 0.900 | yes |" in text
    assert "- a finding" in text
