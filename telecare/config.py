"""Service settings: a documented TOML file, overridden by TELECARE_* environment variables."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telecare.model import DEFAULT_TZ

_ENV: Final = {
    "broker_url": "TELECARE_BROKER_URL",
    "data_dir": "TELECARE_DATA_DIR",
    "http_addr": "TELECARE_HTTP_ADDR",
    "default_tz": "TELECARE_DEFAULT_TZ",
    "instance": "TELECARE_INSTANCE",
    "escalation_file": "TELECARE_ESCALATION_FILE",
    "public_url": "TELECARE_PUBLIC_URL",
}


class ConfigError(Exception):
    """The configuration cannot be used as given."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything `serve` and the CLI need to find the broker, the store and the HTTP port."""

    broker_url: str = "mqtt://127.0.0.1:1883"
    data_dir: Path = Path("telecare-data")
    http_addr: str = "127.0.0.1:8080"
    default_tz: str = DEFAULT_TZ
    instance: str = "main"
    # how long the broker keeps our sessions (and queues for them) while we are down
    session_expiry_s: int = 7 * 24 * 3600
    escalation_file: str = ""  # TOML of escalation policies; empty: the built-in ones
    public_url: str = ""  # base of the accept links in messages; empty: http://HTTP_ADDR
    sms_gateway: str = "file"  # file | notify | twilio
    email_transport: str = "file"  # file | smtp
    smtp: dict[str, Any] = field(default_factory=dict)
    gov_notify: dict[str, Any] = field(default_factory=dict)
    twilio: dict[str, Any] = field(default_factory=dict)

    @property
    def accept_base_url(self) -> str:
        """Where contacts' accept links point."""
        return self.public_url or f"http://{self.http_addr}"
    @property
    def db_path(self) -> Path:
        """The SQLite store's file."""
        return self.data_dir / "telecare.db"

    @property
    def http_host_port(self) -> tuple[str, int]:
        """The HTTP address split into host and port."""
        host, _, port = self.http_addr.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"TELECARE_HTTP_ADDR must be HOST:PORT, not {self.http_addr!r}")
        return host, int(port)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file named by TELECARE_CONFIG (if any), then the environment."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    config_file = env.get("TELECARE_CONFIG")
    if config_file:
        try:
            with open(config_file, "rb") as fh:
                table = tomllib.load(fh)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc}") from exc
        known = {f.name for f in fields(Settings)}
        unknown = set(table) - known
        if unknown:
            raise ConfigError(f"unknown keys in {config_file}: {', '.join(sorted(unknown))}")
        values.update(table)
    for key, name in _ENV.items():
        if env.get(name):
            values[key] = env[name]
    settings = replace(Settings(), **values)  # type: ignore[arg-type]
    settings = replace(settings, data_dir=Path(settings.data_dir))
    check_tz(settings.default_tz)
    settings.http_host_port  # noqa: B018 - validates early
    return settings


def check_tz(name: str) -> str:
    """Return the IANA zone name if it is known, else raise ConfigError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        hint = "use an IANA name such as Europe/London"
        raise ConfigError(f"unknown time zone {name!r} ({hint})") from None
    return name
