"""Profiling results and the hot-path changes, shown at the end of RESULTS.md.

The text is kept by hand. It comes from py-spy 0.4.3 profiles (`py-spy record
--gil`) of the msgload Kafka process on the 2-core machine RESULTS.md describes.
"""

__all__ = ["FINDINGS"]

FINDINGS: list[str] = [
    "kafka-python computes each record batch's CRC-32C in pure Python unless the "
    "`crc32c` package is installed. That was 19% of msgload's Kafka CPU, and it "
    "kept a raw loop sending the stamp header at 20,000 to 28,000 messages/s "
    "here. With crc32c==2.9.post0 installed (both clients share it) the raw "
    "loop reaches the issue's ~44,000 messages/s.",
    "msgload's own share, per acknowledged record, before the changes: Locust's "
    "request event and stats about 3 µs, the stamp and its header about 1 µs, "
    "the ledger 0.2 µs, the future's two callbacks 1.3 µs.",
    "Changed in users/kafka.py: the topic and the entry name are built once per "
    "user instead of per send; the acknowledgement callback reports through "
    "users.timing.report directly instead of two wrappers and derives the start "
    "time from the measured duration. That took msgload from about 39 to about "
    "36 µs of CPU per message.",
    "What stays: Locust monkey-patches threading, so every lock kafka-python "
    "takes per record (one per future, the accumulator's counters) is a gevent "
    "lock written in Python: about 15% of the msgload process's CPU, absent "
    "from the raw loop. Locust's own stats cost about 3 µs per reported record. "
    "kafka-python encodes the stamp header in Python, about 1-2 µs per record, "
    "and the header makes each record about 60 bytes longer.",
    "Why the Kafka rate target is missed: both clients are CPU-bound on about "
    "one core (gevent runs the producer's sender in the same thread as the "
    "user), so messages/s follows CPU per message. An estimate from the "
    "profile: gevent locks about 5 µs, Locust's stats 3 µs and the stamp 2 µs "
    "per record; the rest of the difference was not attributed. Meeting 0.9 "
    "would need fewer Python-level steps per record: a "
    "stats entry per acknowledged batch instead of per record, or a producer "
    "without per-record locks; both change what msgload reports or which client "
    "it uses, so they are left to a decision.",
    "Why the Kafka p99 target is missed: with 1000 sends in flight the user "
    "greenlet fills the accumulator and yields only between tasks, so records "
    "wait longer before the sender greenlet drains them than with the raw "
    "loop's OS thread, which the interpreter switches to every 5 ms.",
    "SQS: on top of the raw loop, msgload serializes the stamp as a message "
    "attribute, builds each entry and checks its size against the queue's "
    "MaximumMessageSize, reports to Locust's stats, and sends through gevent's "
    "sockets. Those steps are in users/sqs.py, which this work did not change, "
    "so the SQS gap is recorded, not fixed. moto answers in milliseconds, so "
    "each run has only a few hundred sends, and the CPU ratio was 1.07 to 1.33 "
    "over four runs of the bench.",
]
