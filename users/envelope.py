"""The stamp each message carries: run, producer, sequence number and send time.

Services with headers or attributes carry the stamp there (Kafka headers, SQS
message attributes); the others carry it at the start of the payload. The same text
form is used everywhere: "run producer seq sent_us".
"""

import time
from dataclasses import dataclass

__all__ = ["STAMP_ATTRIBUTE", "Stamp", "padded_payload", "stamp_from_payload"]

STAMP_ATTRIBUTE = "msgload"
PAYLOAD_PREFIX = b"msgload1 "


@dataclass(frozen=True, slots=True)
class Stamp:
    """Who sent a message, its place in that producer's sequence, and when."""

    run_id: str
    producer_id: str
    seq: int
    sent_at_us: int

    @classmethod
    def now(cls, run_id: str, producer_id: str, seq: int) -> "Stamp":
        return cls(run_id, producer_id, seq, time.time_ns() // 1000)

    def encode(self) -> str:
        return f"{self.run_id} {self.producer_id} {self.seq} {self.sent_at_us}"

    @classmethod
    def decode(cls, text: str | bytes) -> "Stamp | None":
        """Return the stamp in text, or None when text is not a msgload stamp."""
        if isinstance(text, bytes):
            text = text.decode("ascii", errors="replace")
        fields = text.split(" ")
        if len(fields) != 4:
            return None
        try:
            return cls(fields[0], fields[1], int(fields[2]), int(fields[3]))
        except ValueError:
            return None

    def end_to_end_ms(self, received_at_s: float | None = None) -> float:
        """Return milliseconds from the send time to received_at_s (default now)."""
        received = time.time() if received_at_s is None else received_at_s
        return max(0.0, received * 1000.0 - self.sent_at_us / 1000.0)


def padded_payload(size_bytes: int, stamp: Stamp | None = None) -> bytes:
    """Return a payload of size_bytes, starting with the stamp when one is given."""
    head = b"" if stamp is None else PAYLOAD_PREFIX + stamp.encode().encode() + b"\n"
    return head + b"x" * max(0, size_bytes - len(head))


def stamp_from_payload(payload: bytes) -> Stamp | None:
    """Return the stamp at the start of payload, or None when it has none."""
    if not payload.startswith(PAYLOAD_PREFIX):
        return None
    line = payload[len(PAYLOAD_PREFIX) : payload.find(b"\n")]
    return Stamp.decode(line)
