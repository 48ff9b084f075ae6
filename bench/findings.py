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
    "Changed in users/kafka.py, first: the topic and the entry name are built once per "
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
    "Kafka p99, fixed: Locust's gevent.sleep(0) between tasks can return before "
    "the event loop polls for I/O, so the producer's sender greenlet ran only "
    "when the in-flight bound blocked the user; kafka-python then woke it on "
    "almost every record (0.57 wakeups per record against the raw loop's 0.07). "
    "users/kafka.py now calls gevent.idle() every 10 sends, which polls: p99 "
    "went from 2.5-3.4x to about 1.4-1.7x the raw producer's, p50 from about "
    "25 ms to 4 ms, and CPU per message fell by about 4 µs. Polling every 100 "
    "sends gave 1.7-2.1x; gevent.sleep(0) every send changed nothing.",
    "Also measured and left out: kafka-python's futures with native locks "
    "(about 1-2 µs per message; safe, since no locked section yields, but it "
    "patches a library global for the whole process); the accumulator's locks "
    "too (about 2 µs more, but not safe: a section holding one waits on a "
    "gevent Condition); logging straight into Locust's stats instead of firing "
    "events.request (0.5-1 µs, within noise, and other request listeners would "
    "miss the samples).",
    "SQS: on top of the raw loop, msgload serializes the stamp as a message "
    "attribute, builds each entry and checks its size against the queue's "
    "MaximumMessageSize, reports to Locust's stats, and sends through gevent's "
    "sockets. moto answers in milliseconds, so each run has only a few hundred "
    "sends and the ratio is noisy: 1.04 to 1.33 over five runs of the bench, "
    "within the 1.1 target in the latest ones.",
]
