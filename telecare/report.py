"""Service performance against the code of practice: how fast alarms were answered.

Priority 1 and 2 alerts received in a month; answered = acknowledged (by an
operator or an accepting contact). Targets (TSA / TEC Quality): 97.5% within
60 s and 99% within 180 s. An alert never acknowledged counts as not answered
in time (and is listed among the slowest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from telecare.model import Alert, rfc3339
from telecare.store import Store, StoreError

TARGET_60S: Final = 97.5
TARGET_180S: Final = 99.0


@dataclass(frozen=True)
class AnswerTimes:
    """The month's figures."""

    month: str
    alerts: int
    within_60s: int
    within_180s: int
    slowest: list[tuple[Alert, float | None]]

    def share(self, count: int) -> float:
        """A count as a percentage of the month's alerts (100 when there were none)."""
        return 100.0 * count / self.alerts if self.alerts else 100.0

    def render(self) -> str:
        """A plain-text report."""
        s60, s180 = self.share(self.within_60s), self.share(self.within_180s)
        lines = [
            f"Answer times, priority 1-2 alerts received in {self.month} (UTC)",
            f"  alerts:           {self.alerts}",
            f"  within 60 s:      {self.within_60s} ({s60:.1f}%)  target {TARGET_60S}%  "
            f"{'met' if s60 >= TARGET_60S else 'MISSED'}",
            f"  within 180 s:     {self.within_180s} ({s180:.1f}%)  target {TARGET_180S}%  "
            f"{'met' if s180 >= TARGET_180S else 'MISSED'}",
        ]
        if self.slowest:
            lines.append("  slowest (every one over 180 s is to be investigated):")
        for alert, seconds in self.slowest:
            took = "never acknowledged" if seconds is None else f"{seconds:.0f} s"
            lines.append(f"    #{alert.id} P{alert.priority} {alert.type} {alert.hub_id} "
                         f"received {rfc3339(alert.received_at)}: {took}")
        return "\n".join(lines)


def month_bounds(month: str) -> tuple[int, int]:
    """Epoch-ms [start, end) of a YYYY-MM month in UTC."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise StoreError(f"month must be YYYY-MM, not {month!r}") from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
        month=start.month + 1)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def answer_times(store: Store, month: str, *, slowest: int = 10) -> AnswerTimes:
    """Compute the month's answer times from the alert store."""
    start, end = month_bounds(month)
    alerts = [
        a for a in store.alerts(include_resolved=True)
        if a.priority <= 2 and start <= a.received_at < end
    ]
    timed: list[tuple[Alert, float | None]] = [
        (a, None if a.acknowledged_at is None else (a.acknowledged_at - a.received_at) / 1000)
        for a in alerts
    ]
    within_60 = sum(1 for _, s in timed if s is not None and s <= 60)
    within_180 = sum(1 for _, s in timed if s is not None and s <= 180)
    ordered = sorted(timed, key=lambda t: float("inf") if t[1] is None else t[1], reverse=True)
    return AnswerTimes(month, len(alerts), within_60, within_180, ordered[:slowest])
