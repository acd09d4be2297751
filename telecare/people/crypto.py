"""Field encryption for personal data: AES-256-GCM, the row's identity bound in.

The key lives outside the database: in TELECARE_SECRET_KEY (urlsafe base64 of
32 bytes) or in a key file (TELECARE_KEY_FILE, default `secret.key` in the
data directory, created 0600 on first use). Production keeps it apart from the
database's disk and backups (a secret manager, a separate volume).
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import Any, Final

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION: Final = b"\x01"
_NONCE_BYTES: Final = 12


class CipherError(Exception):
    """The key is missing or wrong, or a sealed value was tampered with."""


class FieldCipher:
    """Seals and opens small JSON records; the associated data ties each to its row."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise CipherError("the secret key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_environment(cls, data_dir: Path, env: dict[str, str] | None = None) -> FieldCipher:
        """Load the key from TELECARE_SECRET_KEY or a key file, creating the file if absent."""
        env = dict(os.environ) if env is None else env
        if env.get("TELECARE_SECRET_KEY"):
            return cls(_decode_key(env["TELECARE_SECRET_KEY"]))
        path = Path(env.get("TELECARE_KEY_FILE") or data_dir / "secret.key")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        return cls(_decode_key(path.read_text().strip()))

    def seal(self, record: dict[str, Any], *, bound_to: str) -> bytes:
        """Encrypt a record; `bound_to` (e.g. "resident:R-1") must match when opening."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        plain = msgspec.json.encode(record)
        return _VERSION + nonce + self._aead.encrypt(nonce, plain, bound_to.encode())

    def open(self, sealed: bytes, *, bound_to: str) -> dict[str, Any]:
        """Decrypt a record sealed for the same row."""
        if not sealed.startswith(_VERSION):
            raise CipherError("unknown sealed-value version")
        nonce = sealed[1 : 1 + _NONCE_BYTES]
        try:
            plain = self._aead.decrypt(nonce, sealed[1 + _NONCE_BYTES :], bound_to.encode())
        except InvalidTag:
            raise CipherError("cannot decrypt: wrong key, or the value was altered") from None
        record: dict[str, Any] = msgspec.json.decode(plain)
        return record


def _decode_key(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.encode())
    except ValueError as exc:
        raise CipherError("the secret key is not urlsafe base64") from exc
