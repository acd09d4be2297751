"""Immediate alarms as the operator reads them (plain data, no clock)."""

from __future__ import annotations

from engine_events import DAY0, HOUR, MIN, ev, home_engine

from telecare.detect import Raise


def test_an_alarm_says_in_plain_words_what_the_device_reported() -> None:
    """A wearable's fall reads "fall reported on device ...", a press "pendant pressed"."""
    engine = home_engine((("fall-detector", "fall", ""), ("pendant", "pendant", "")))
    at = DAY0 + 10 * HOUR
    out = engine.observe([ev(at, "fall-detector", "fall", "fall"),
                          ev(at + MIN, "pendant", "pendant", "press")])
    reasons = [d.reason for d in out if isinstance(d, Raise)]
    assert reasons == ["fall reported on device fall-detector",
                       "pendant pressed on device pendant"]
