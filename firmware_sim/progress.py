"""A progress bar for long runs: simulated time covered and events sent, on stderr."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from firmware_sim.timefmt import format_ts


class RunProgress:
    """Shows how far a run has come; a no-op when stderr is not a terminal (unless forced)."""

    def __init__(self, description: str, *, total: float | None, start: float = 0.0,
                 enabled: bool | None = None) -> None:
        self._start = start
        self._total = total
        self._began = time.monotonic()
        show = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if show:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.percentage:>5.1f}%"),
                TextColumn("{task.fields[where]}"),
                TextColumn("{task.fields[events]:>12,} events"),
                TextColumn("{task.fields[rate]:>9,.0f}/s"),
                TimeElapsedColumn(),
                console=Console(file=sys.stderr),
                transient=False,
            )
            self._task = self._progress.add_task(description, total=total, where="",
                                                 events=0, rate=0.0)

    def __enter__(self) -> RunProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, at: float, events: int) -> None:
        """Record how far the run is (simulated Unix seconds, or rows) and the events sent."""
        if self._progress is None or self._task is None:
            return
        elapsed = max(time.monotonic() - self._began, 1e-9)
        where = format_ts(at) if at > 1e8 else ""
        self._progress.update(self._task, completed=at - self._start, where=where,
                              events=events, rate=events / elapsed)
