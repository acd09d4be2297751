"""The embedded default: messages appended as JSON lines to a local file (demo, development)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from telecare.alerts.channels import Outgoing


class FileSink:
    """Writes each message as one JSON line; the key is the provider reference."""

    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path = path

    async def send(self, message: Outgoing) -> str:
        """Append the message to the file."""
        line = msgspec.json.encode({"key": message.key, "to": message.to,
                                    "subject": message.subject, "body": message.body})
        await asyncio.to_thread(self._append, line + b"\n")
        return message.key

    def _append(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as fh:
            fh.write(data)
