"""The end-of-run summary: rates, percentiles and the notes under the table."""

import datetime as dt

from locust.stats import RequestStats

from users.envelope import Stamp
from users.ledger import Ledger
from users.summary import format_notes, format_table, summarize

RUN = "run-1"


class WaitingSampler:
    def __init__(self, waiting: dict[str, int]) -> None:
        self.waiting = waiting

    def messages_waiting(self, service: str) -> int:
        return self.waiting.get(service, 0)


def ledger_with(published: int, consumed: int, first_s: float, last_s: float):
    ledger = Ledger(RUN)
    for seq in range(published):
        moment = first_s + (last_s - first_s) * seq / max(1, published - 1)
        ledger.record_acked("SQS", Stamp(RUN, "p", seq, 0), moment)
    for seq in range(consumed):
        ledger.record_consumed("SQS", Stamp(RUN, "p", seq, 0))
    ledger.merge_own()
    return ledger


def test_rate_spans_until_publishing_stopped():
    ledger = ledger_with(100, 100, first_s=1000.0, last_s=1010.0)
    stopped = dt.datetime.fromtimestamp(1050.0, dt.UTC)

    summary = summarize(RequestStats(), ledger, stopped)

    assert summary["SQS"]["messages_per_s"] == 2.0


def test_rate_without_stop_spans_acks():
    ledger = ledger_with(100, 100, first_s=1000.0, last_s=1010.0)

    summary = summarize(RequestStats(), ledger)

    assert summary["SQS"]["messages_per_s"] == 10.0


def test_percentiles_of_publish_entries():
    stats = RequestStats()
    for response_time_ms in (10, 20, 30, 40, 100):
        stats.log_request("SQS", "SendMessageBatch q", response_time_ms, 100)
    stats.log_request("SQS", "ReceiveMessage q", 2000, 100)

    summary = summarize(stats, Ledger(RUN))

    assert summary["SQS"]["publish_ms"]["p50"] == 30.0
    assert summary["SQS"]["publish_ms"]["p99"] == 100.0
    assert summary["SQS"]["publish_entries"] == ["SendMessageBatch q"]


def test_failures_without_time_leave_percentiles():
    stats = RequestStats()
    stats.log_request("Kafka", "Produce t", 50, 100)
    stats.log_request("Kafka", "Produce t", None, 0)
    stats.log_error("Kafka", "Produce t", "KafkaTimeoutError")

    summary = summarize(stats, Ledger(RUN))

    assert summary["Kafka"]["publish_ms"]["p50"] == 50.0
    assert summary["Kafka"]["failures"] == 1


def test_note_when_lost_messages_still_wait():
    ledger = ledger_with(100, 60, first_s=1000.0, last_s=1010.0)

    summary = summarize(RequestStats(), ledger, None, WaitingSampler({"SQS": 40}))

    assert summary["SQS"]["lost"] == 40
    (note,) = format_notes(summary)
    assert note.startswith("SQS: 40 messages were not consumed by the end and 40 were")


def test_no_note_on_a_clean_run():
    ledger = ledger_with(100, 100, first_s=1000.0, last_s=1010.0)

    summary = summarize(RequestStats(), ledger, None, WaitingSampler({}))

    assert format_notes(summary) == []
    assert "SQS" in format_table(summary)
