"""Per-home detection rules: installers switch rules on or off and tune them (audited).

The rules live with the hub in the store (`hub_settings`); the service picks a
change up on its next batch, as it does any registry change.
"""

from __future__ import annotations

import argparse
from typing import Any

import msgspec

from telecare.detect.localtime import parse_hhmm
from telecare.model import HubSettings
from telecare.store import Store, StoreError


def current(store: Store, hub_id: str) -> HubSettings:
    """Return a hub's rules (the defaults until an installer changes them)."""
    text = store.hub_settings().get(hub_id)
    return msgspec.json.decode(text, type=HubSettings) if text else HubSettings()


def configure_hub(store: Store, hub_id: str, changes: dict[str, Any], *, now: int,
                  by: str) -> HubSettings:
    """Change some of a hub's rules; return the rules now in force. Audited."""
    if store.hub(hub_id) is None:
        raise StoreError(f"hub {hub_id} is not registered")
    try:
        settings = msgspec.structs.replace(current(store, hub_id), **changes)
        parse_hhmm(settings.night_start)
        parse_hhmm(settings.night_end)
        if settings.up_by:
            parse_hhmm(settings.up_by)
    except (TypeError, ValueError) as exc:
        raise StoreError(str(exc)) from exc
    if (settings.return_min < 1 or settings.door_open_min < 0 or settings.fallback_h <= 0
            or settings.out_of_bed_min < 0 or settings.not_back_h < 0):
        raise StoreError("return time must be >= 1 min, door open >= 0 min, fallback > 0 h, "
                         "out of bed >= 0 min, not back >= 0 h")
    text = msgspec.json.encode(settings).decode()
    with store.transaction():
        store.set_hub_settings(hub_id, text)
        store.audit(now, by, "hub.configure", f"hub:{hub_id}", text)
    return settings


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "yes", "true", "1"):
        return True
    if text.lower() in ("off", "no", "false", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: say on or off")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add `telecare hub configure`'s options to its parser."""
    parser.add_argument("hub_id")
    parser.add_argument("--night-exit", type=_on_off, help="on|off (off by default)")
    parser.add_argument("--night-hours", help="local night, e.g. 22:00-07:00")
    parser.add_argument("--return-min", type=int, help="minutes to come back in at night")
    parser.add_argument("--door-open-min", type=int, help="door left open after (0: off)")
    parser.add_argument("--inactivity", type=_on_off, help="on|off (on by default)")
    parser.add_argument("--fallback-h", type=float, help="inactivity timer while learning")
    parser.add_argument("--out-of-bed-min", type=int,
                        help="with a bed pad: up at night and still this long (0: off)")
    parser.add_argument("--not-up", type=_on_off,
                        help="on|off: with a bed pad, still in bed long past the usual rising")
    parser.add_argument("--up-by",
                        help="with a bed pad: still in bed at this local time (HH:MM) raises; "
                             "'off' clears it")
    parser.add_argument("--not-back-h", type=float,
                        help="out by an exit door and not back after this many hours (0: off)")
    parser.add_argument("--routine", type=_on_off, help="on|off: routine-change notices")
    parser.add_argument("--by", default=None)


def changes_from(args: argparse.Namespace) -> dict[str, Any]:
    """The rule changes the command line asks for."""
    changes: dict[str, Any] = {}
    for name in ("night_exit", "return_min", "door_open_min", "inactivity", "fallback_h",
                 "out_of_bed_min", "not_up", "not_back_h", "routine"):
        value = getattr(args, name)
        if value is not None:
            changes[name] = value
    if args.up_by is not None:
        changes["up_by"] = "" if args.up_by.strip().lower() == "off" else args.up_by.strip()
    if args.night_hours:
        start, sep, end = args.night_hours.partition("-")
        if not sep:
            raise StoreError("--night-hours wants START-END, e.g. 22:00-07:00")
        changes["night_start"], changes["night_end"] = start.strip(), end.strip()
    return changes


def describe(hub_id: str, settings: HubSettings) -> str:
    """One line saying which rules are in force for a hub."""
    night = f"{settings.night_start}-{settings.night_end}"
    exit_rule = f"on, return {settings.return_min} min" if settings.night_exit else "off"
    out_of_bed = f"{settings.out_of_bed_min} min" if settings.out_of_bed_min else "off"
    up_by = f", up by {settings.up_by}" if settings.up_by else ""
    not_back = f", not back after {settings.not_back_h:g} h" if settings.not_back_h else ""
    return (f"hub {hub_id}: night {night}; night exit {exit_rule}; door left open "
            f"{settings.door_open_min} min; inactivity {'on' if settings.inactivity else 'off'} "
            f"(fallback {settings.fallback_h:g} h, out of bed at night {out_of_bed}, not up "
            f"{'on' if settings.not_up else 'off'}{up_by}{not_back}); "
            f"routine {'on' if settings.routine else 'off'}")
