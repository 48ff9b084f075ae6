"""Stamps survive the trip through headers, attributes and payloads."""

from users.envelope import Stamp, padded_payload, stamp_from_payload


def test_stamp_round_trip_through_text():
    stamp = Stamp("20261204T151700Z-ab12", "p1", 42, 1_764_861_420_000_000)
    assert Stamp.decode(stamp.encode()) == stamp
    assert Stamp.decode(stamp.encode().encode()) == stamp


def test_foreign_text_is_not_a_stamp():
    assert Stamp.decode("hello world") is None
    assert Stamp.decode("a b c d") is None


def test_payload_has_requested_size_and_stamp():
    stamp = Stamp("run", "p1", 7, 123)
    payload = padded_payload(200, stamp)
    assert len(payload) == 200
    assert stamp_from_payload(payload) == stamp


def test_payload_without_stamp():
    assert stamp_from_payload(padded_payload(100)) is None


def test_end_to_end_is_milliseconds_since_send():
    stamp = Stamp("run", "p1", 0, 1_000_000_000)
    assert stamp.end_to_end_ms(1_000.25) == 250.0
