"""The live alert queue in a terminal (rich): what an operator would see, in queue order."""

from __future__ import annotations

import time
from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from telecare.model import Alert

_PRIORITY_STYLE = {1: "bold white on red", 2: "bold red", 3: "yellow", 4: "cyan", 5: "dim"}


def _clock(ms: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ms / 1000))


def _age(ms: int, now_ms: int) -> str:
    seconds = max(0, (now_ms - ms) // 1000)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def queue_table(alerts: Sequence[Alert], *, now_ms: int, title: str) -> Table:
    """Render unresolved alerts, most urgent first, as a rich table."""
    table = Table(title=title, title_justify="left", expand=True)
    for name, kwargs in (
        ("#", {"justify": "right"}), ("P", {}), ("state", {}), ("type", {}), ("hub", {}),
        ("raised", {}), ("age", {"justify": "right"}), ("x", {"justify": "right"}),
        ("what", {"ratio": 1}),
    ):
        table.add_column(name, **kwargs)
    for a in alerts:
        notes = []
        if a.cleared_at:
            notes.append("cleared by device")
        if a.cancelled_at:
            notes.append("resident pressed I'm OK")
        if a.suppressed_by:
            notes.append(f"suppressed by {a.suppressed_by}")
        notes.extend(a.flags)
        what = a.reason + (f"  [{'; '.join(notes)}]" if notes else "")
        table.add_row(
            str(a.id), Text(f"P{a.priority}", style=_PRIORITY_STYLE.get(a.priority, "")),
            a.state, a.type, a.hub_id, _clock(a.raised_at), _age(a.raised_at, now_ms),
            str(a.occurrences), what,
        )
    if not alerts:
        table.add_row("", "", "", "no open alerts", "", "", "", "", "")
    return table
