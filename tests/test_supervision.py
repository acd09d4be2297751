"""Hub supervision in event time, driven by a watermark (plain data, no clock)."""

from telecare.detect import Clear, Engine, Raise
from telecare.detect.supervision import heartbeat_grace_ms
from telecare.model import AlertType

T0 = 1_700_000_000_000


def test_grace_is_two_intervals_plus_thirty_seconds() -> None:
    """60 s heartbeats give 150 s of grace."""
    assert heartbeat_grace_ms(60) == 150_000


def test_a_silent_hub_is_flagged_when_its_grace_expires_not_before_and_only_once() -> None:
    """The alert's time is the deadline, not the last heartbeat."""
    engine = Engine.starting_at(T0)
    engine.supervision.watch("H-1", 60, registered_at=T0 - 10_000)
    engine.supervision.heard("H-1", T0 + 5_000)
    assert engine.advance(T0 + 154_999) == []
    decisions = engine.advance(T0 + 155_000)
    assert len(decisions) == 1 and isinstance(decisions[0], Raise)
    assert decisions[0].type is AlertType.HUB_SILENT and decisions[0].at == T0 + 155_000
    assert engine.advance(T0 + 10_000_000) == []


def test_after_the_service_resumes_no_hub_is_silent_before_its_grace_from_the_restart() -> None:
    """A hub last heard long ago gets a full grace from the service's start."""
    engine = Engine.starting_at(T0)
    engine.supervision.watch("H-1", 60, registered_at=T0 - 86_400_000)
    assert engine.advance(T0 + 149_000) == []
    assert len(engine.advance(T0 + 150_000)) == 1


def test_a_silent_hub_that_speaks_again_clears_its_alert() -> None:
    """A restore clears the alert it ends."""
    engine = Engine.starting_at(T0)
    engine.supervision.watch("H-1", 60, registered_at=T0)
    engine.advance(T0 + 200_000)
    cleared = engine.supervision.heard("H-1", T0 + 210_000)
    assert cleared == Clear("H-1", AlertType.HUB_SILENT, T0 + 210_000)
    assert engine.advance(T0 + 359_999) == []
    assert len(engine.advance(T0 + 360_000)) == 1
