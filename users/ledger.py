"""Count lost, duplicated and out-of-order messages from their stamps, across workers.

Each process records the sequence numbers its producers had acknowledged and its
consumers received. Workers send what is new with every stats report; the master
merges them into one set per producer, so duplicates and lost messages are exact
even when the copies of a message reach consumers on different workers.
"""

import bisect
from collections import defaultdict
from dataclasses import dataclass, field

from users.envelope import Stamp

__all__ = ["Ledger", "SeqSet", "ServiceCounts"]


class SeqSet:
    """A set of integers stored as sorted, disjoint, inclusive runs [start, end]."""

    __slots__ = ("_ends", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def __len__(self) -> int:
        runs = zip(self._starts, self._ends, strict=True)
        return sum(end - start + 1 for start, end in runs)

    def __contains__(self, value: int) -> bool:
        index = bisect.bisect_right(self._starts, value) - 1
        return index >= 0 and self._ends[index] >= value

    def runs(self) -> list[list[int]]:
        return [list(run) for run in zip(self._starts, self._ends, strict=True)]

    def add(self, value: int) -> bool:
        """Add value; return True when it was already present."""
        return self.add_run(value, value) > 0

    def add_run(self, start: int, end: int) -> int:
        """Add start..end; return how many of those numbers were already present."""
        first = bisect.bisect_left(self._ends, start - 1)
        last = bisect.bisect_right(self._starts, end + 1)
        if first == last:
            self._starts.insert(first, start)
            self._ends.insert(first, end)
            return 0
        overlap = 0
        for index in range(first, last):
            low = max(start, self._starts[index])
            high = min(end, self._ends[index])
            overlap += max(0, high - low + 1)
        new_start = min(start, self._starts[first])
        new_end = max(end, self._ends[last - 1])
        self._starts[first:last] = [new_start]
        self._ends[first:last] = [new_end]
        return overlap

    def count_missing_from(self, other: "SeqSet") -> int:
        """Return how many numbers of this set are not in other."""
        missing = 0
        for start, end in zip(self._starts, self._ends, strict=True):
            missing += (end - start + 1) - other.count_in_run(start, end)
        return missing

    def count_in_run(self, start: int, end: int) -> int:
        """Return how many numbers of start..end this set holds."""
        first = bisect.bisect_left(self._ends, start)
        held = 0
        for index in range(first, len(self._starts)):
            if self._starts[index] > end:
                break
            held += min(end, self._ends[index]) - max(start, self._starts[index]) + 1
        return held


def to_runs(values: list[int]) -> list[list[int]]:
    """Return values as sorted runs of consecutive numbers; a repeat starts a run."""
    runs: list[list[int]] = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return runs


@dataclass
class ServiceCounts:
    """The merged correctness counts of one service."""

    acked: dict[str, SeqSet] = field(default_factory=lambda: defaultdict(SeqSet))
    consumed: dict[str, SeqSet] = field(default_factory=lambda: defaultdict(SeqSet))
    deliveries: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    other_runs: int = 0
    first_ack_s: float | None = None
    last_ack_s: float | None = None

    @property
    def published(self) -> int:
        return sum(len(seqs) for seqs in self.acked.values())

    @property
    def consumed_unique(self) -> int:
        return sum(len(seqs) for seqs in self.consumed.values())

    @property
    def lost(self) -> int:
        """Messages acknowledged to a producer that no consumer received."""
        empty = SeqSet()
        return sum(
            seqs.count_missing_from(self.consumed.get(producer, empty))
            for producer, seqs in self.acked.items()
        )


@dataclass
class _Pending:
    acked: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    consumed: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    out_of_order: int = 0
    other_runs: int = 0
    first_ack_s: float | None = None
    last_ack_s: float | None = None


class Ledger:
    """Records stamps on one process and merges the records of many processes."""

    def __init__(self, run_id: str = "") -> None:
        self.run_id = run_id
        self.services: dict[str, ServiceCounts] = defaultdict(ServiceCounts)
        self._pending: dict[str, _Pending] = defaultdict(_Pending)
        self._seen: dict[tuple[str, str], SeqSet] = defaultdict(SeqSet)
        self._last_seq: dict[tuple, int] = {}
        self.sent_totals: dict[str, dict[str, int]] = {}

    def record_acked(self, service: str, stamp: Stamp, acked_at_s: float) -> None:
        pending = self._pending[service]
        pending.acked[stamp.producer_id].append(stamp.seq)
        if pending.first_ack_s is None:
            pending.first_ack_s = acked_at_s
        pending.last_ack_s = acked_at_s

    def record_consumed(self, service: str, stamp: Stamp, order_key=None) -> bool:
        """Record one delivery; return False when the stamp is from another run.

        order_key names the unit the service keeps in order (a FIFO message group,
        a partition, a shard); None where the service promises no order.
        """
        pending = self._pending[service]
        if stamp.run_id != self.run_id:
            pending.other_runs += 1
            return False
        pending.consumed[stamp.producer_id].append(stamp.seq)
        seen_before = self._seen[(service, stamp.producer_id)].add(stamp.seq)
        if order_key is not None:
            key = (service, order_key, stamp.producer_id)
            last = self._last_seq.get(key, -1)
            if stamp.seq < last and not seen_before:
                pending.out_of_order += 1
            self._last_seq[key] = max(last, stamp.seq)
        return True

    def take_pending(self) -> dict:
        """Return what was recorded since the last call, ready to send to the master."""
        pending, self._pending = self._pending, defaultdict(_Pending)
        for service, item in pending.items():
            totals = self.sent_totals.setdefault(
                service, {"published": 0, "deliveries": 0}
            )
            totals["published"] += sum(len(seqs) for seqs in item.acked.values())
            totals["deliveries"] += sum(len(seqs) for seqs in item.consumed.values())
        return {
            service: {
                "acked": {p: to_runs(seqs) for p, seqs in item.acked.items()},
                "consumed": {p: to_runs(seqs) for p, seqs in item.consumed.items()},
                "out_of_order": item.out_of_order,
                "other_runs": item.other_runs,
                "first_ack_s": item.first_ack_s,
                "last_ack_s": item.last_ack_s,
            }
            for service, item in pending.items()
        }

    def merge(self, report: dict) -> None:
        """Merge a report from take_pending (this process's or a worker's)."""
        for service, item in report.items():
            counts = self.services[service]
            for producer, runs in item["acked"].items():
                for start, end in runs:
                    counts.acked[producer].add_run(start, end)
            for producer, runs in item["consumed"].items():
                for start, end in runs:
                    counts.deliveries += end - start + 1
                    counts.duplicates += counts.consumed[producer].add_run(start, end)
            counts.out_of_order += item["out_of_order"]
            counts.other_runs += item["other_runs"]
            counts.first_ack_s = _earliest(counts.first_ack_s, item["first_ack_s"])
            counts.last_ack_s = _latest(counts.last_ack_s, item["last_ack_s"])

    def merge_own(self) -> None:
        """Merge this process's pending records (a local run or the master's own)."""
        self.merge(self.take_pending())


def _earliest(a: float | None, b: float | None) -> float | None:
    present = [value for value in (a, b) if value is not None]
    return min(present) if present else None


def _latest(a: float | None, b: float | None) -> float | None:
    present = [value for value in (a, b) if value is not None]
    return max(present) if present else None
