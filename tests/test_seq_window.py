"""The replay window: duplicates, out-of-order, stale and jumping seqs (plain data)."""

from telecare.ingest.seqwindow import SeqVerdict, SeqWindow


def accept(window: SeqWindow, seq: int) -> SeqVerdict:
    verdict = window.check(seq)
    if verdict is SeqVerdict.NEW:
        window.mark(seq)
    return verdict


def test_a_seq_seen_before_is_a_duplicate_and_an_unseen_one_in_the_window_is_new() -> None:
    """Out-of-order delivery inside the window is accepted once."""
    w = SeqWindow()
    assert [accept(w, s) for s in (5, 7, 6, 7, 5, 3)] == [
        SeqVerdict.NEW, SeqVerdict.NEW, SeqVerdict.NEW, SeqVerdict.DUPLICATE,
        SeqVerdict.DUPLICATE, SeqVerdict.NEW,
    ]


def test_a_seq_below_the_1024_window_is_stale_and_a_huge_jump_is_refused() -> None:
    """Replay protection at both ends."""
    w = SeqWindow()
    accept(w, 2000)
    assert w.check(2000 - 1024) is SeqVerdict.NEW
    assert w.check(2000 - 1025) is SeqVerdict.STALE
    assert w.check(2000 + 1_000_001) is SeqVerdict.JUMP
    assert w.check(2000 + 1_000_000) is SeqVerdict.NEW


def test_the_window_survives_a_round_trip_through_the_store_format() -> None:
    """What is seen stays seen after a restart."""
    w = SeqWindow()
    for s in (10, 12, 900, 1500):
        accept(w, s)
    back = SeqWindow.restore(w.high, w.to_bytes())
    assert [back.check(s) for s in (900, 1500, 1499, 476)] == [
        SeqVerdict.DUPLICATE, SeqVerdict.DUPLICATE, SeqVerdict.NEW, SeqVerdict.NEW,
    ]
    assert back.check(475) is SeqVerdict.STALE and back.check(12) is SeqVerdict.STALE
