"""The ledger counts lost, duplicated and out-of-order messages exactly."""

from users.envelope import Stamp
from users.ledger import Ledger, SeqSet, to_runs

RUN = "run-1"


def stamp(producer: str, seq: int) -> Stamp:
    return Stamp(RUN, producer, seq, 0)


def test_seqset_merges_adjacent_runs():
    seqs = SeqSet()
    for value in [3, 1, 2, 7, 5, 6, 4]:
        assert seqs.add(value) is False
    assert seqs.runs() == [[1, 7]]
    assert len(seqs) == 7


def test_seqset_counts_overlap_as_present():
    seqs = SeqSet()
    seqs.add_run(10, 19)
    assert seqs.add_run(15, 24) == 5
    assert seqs.add_run(0, 30) == 15
    assert seqs.runs() == [[0, 30]]


def test_seqset_counts_missing_numbers():
    acked, consumed = SeqSet(), SeqSet()
    acked.add_run(0, 99)
    consumed.add_run(0, 49)
    consumed.add_run(60, 99)
    assert acked.count_missing_from(consumed) == 10


def test_to_runs_keeps_repeats():
    assert to_runs([5, 3, 4, 4, 9]) == [[3, 4], [4, 5], [9, 9]]


def test_duplicates_across_workers_are_counted_on_master():
    master, worker_a, worker_b = Ledger(RUN), Ledger(RUN), Ledger(RUN)
    for seq in range(10):
        worker_a.record_acked("SQS", stamp("p", seq), 1.0)
        worker_a.record_consumed("SQS", stamp("p", seq))
    for seq in (3, 4):
        worker_b.record_consumed("SQS", stamp("p", seq))

    master.merge(worker_a.take_pending())
    master.merge(worker_b.take_pending())

    counts = master.services["SQS"]
    assert counts.published == 10
    assert counts.consumed_unique == 10
    assert counts.deliveries == 12
    assert counts.duplicates == 2
    assert counts.lost == 0


def test_unconsumed_messages_are_lost():
    ledger = Ledger(RUN)
    for seq in range(5):
        ledger.record_acked("Kafka", stamp("p", seq), 1.0)
    ledger.record_consumed("Kafka", stamp("p", 0), order_key=0)
    ledger.merge_own()
    assert ledger.services["Kafka"].lost == 4


def test_out_of_order_counted_per_key():
    ledger = Ledger(RUN)
    for seq in (0, 2, 1):
        ledger.record_consumed("Kafka", stamp("p", seq), order_key=0)
    for seq in (3, 4):
        ledger.record_consumed("Kafka", stamp("p", seq), order_key=1)
    ledger.merge_own()
    assert ledger.services["Kafka"].out_of_order == 1


def test_redelivery_is_a_duplicate_not_out_of_order():
    ledger = Ledger(RUN)
    for seq in (0, 1, 2, 1):
        ledger.record_consumed("SQS FIFO", stamp("p", seq), order_key="g1")
    ledger.merge_own()
    counts = ledger.services["SQS FIFO"]
    assert counts.out_of_order == 0
    assert counts.duplicates == 1


def test_messages_of_other_runs_are_set_apart():
    ledger = Ledger(RUN)
    assert ledger.record_consumed("SQS", Stamp("old-run", "p", 0, 0)) is False
    ledger.merge_own()
    counts = ledger.services["SQS"]
    assert counts.other_runs == 1
    assert counts.consumed_unique == 0


def test_sent_totals_sum_what_was_reported():
    ledger = Ledger(RUN)
    ledger.record_acked("SQS", stamp("p", 0), 1.0)
    ledger.take_pending()
    ledger.record_acked("SQS", stamp("p", 1), 2.0)
    ledger.record_consumed("SQS", stamp("p", 0))
    ledger.take_pending()
    assert ledger.sent_totals == {"SQS": {"published": 2, "deliveries": 1}}
