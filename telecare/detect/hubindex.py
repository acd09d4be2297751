"""Hub ids to dense integer indices, so per-home state can live in numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HubIndex:
    """A growing, append-only map from hub id to a row number shared by every detector."""

    ids: list[str] = field(default_factory=list)
    _rows: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def get(self, hub_id: str) -> int | None:
        """Return the hub's row, or None if it has none yet."""
        return self._rows.get(hub_id)

    def row(self, hub_id: str) -> int:
        """Return the hub's row, giving it a new one on first sight."""
        row = self._rows.get(hub_id)
        if row is None:
            row = len(self.ids)
            self._rows[hub_id] = row
            self.ids.append(hub_id)
        return row


def grown(array: np.ndarray, rows: int, fill: object = 0) -> np.ndarray:
    """Return the array with at least `rows` rows (doubling), new rows set to fill."""
    if array.shape[0] >= rows:
        return array
    size = max(rows, 2 * array.shape[0], 16)
    out = np.empty((size, *array.shape[1:]), dtype=array.dtype)
    out[: array.shape[0]] = array
    out[array.shape[0] :] = fill
    return out
