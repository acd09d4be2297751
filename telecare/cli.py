"""The `telecare` command. Subcommand names and options are a contract other tools use.

Every subcommand reads the same settings and works directly on the store, also
while `serve` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from telecare import cli_care, rules
from telecare.alerts import lifecycle
from telecare.alerts.policy import PolicyError
from telecare.config import ConfigError, Settings, load_settings
from telecare.model import DEFAULT_HEARTBEAT_S, Device, Outcome, rfc3339
from telecare.people.crypto import CipherError
from telecare.protocol import event_json_schema
from telecare.registry import add_device, add_hub, import_devices, reset_seq
from telecare.store import SqliteStore, StoreError


def _now() -> int:
    return int(time.time() * 1000)


def _actor(args: argparse.Namespace) -> str:
    return str(getattr(args, "by", None) or getpass.getuser() or "cli")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for every subcommand."""
    p = argparse.ArgumentParser(prog="telecare", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (config from TELECARE_* env / TOML)")
    demo = sub.add_parser("demo", help="service + simulated homes + live queue, no set-up")
    demo.add_argument("--homes", type=int, default=20)
    demo.add_argument("--seconds", type=float, default=0, help="stop after this long (0: Ctrl-C)")
    demo.add_argument("--embedded-broker", action="store_true",
                      help="use the in-process broker even if another one is reachable")

    hub = sub.add_parser("hub", help="register hubs").add_subparsers(dest="action", required=True)
    h_add = hub.add_parser("add", help="register a hub (or change its settings)")
    h_add.add_argument("hub_id")
    h_add.add_argument("--heartbeat-s", type=int, default=DEFAULT_HEARTBEAT_S)
    h_add.add_argument("--tz", default=None, help="IANA zone (default TELECARE_DEFAULT_TZ)")
    h_add.add_argument("--by", default=None)
    h_reset = hub.add_parser("reset-seq", help="let a replaced hub count seq from 0 (audited)")
    h_reset.add_argument("hub_id")
    h_reset.add_argument("--by", default=None)
    hub.add_parser("list", help="list registered hubs")
    rules.add_arguments(hub.add_parser("configure", help="set a home's detection rules (audited)"))

    dev = sub.add_parser("device", help="register devices").add_subparsers(
        dest="action", required=True
    )
    d_add = dev.add_parser("add", help="register a device on a hub")
    d_add.add_argument("hub_id")
    d_add.add_argument("device_id")
    d_add.add_argument("--type", required=True)
    d_add.add_argument("--location", default="")
    d_add.add_argument("--by", default=None)
    d_imp = dev.add_parser("import", help="register hubs and devices from a CSV")
    d_imp.add_argument("file", type=Path)
    d_imp.add_argument("--by", default=None)

    al = sub.add_parser("alerts", help="the alert queue").add_subparsers(
        dest="action", required=True
    )
    a_list = al.add_parser("list", help="list open and acknowledged alerts")
    a_list.add_argument("--json", action="store_true")
    a_list.add_argument("--all", action="store_true", help="include resolved alerts")
    a_ack = al.add_parser("ack", help="acknowledge an alert")
    a_ack.add_argument("id", type=int)
    a_ack.add_argument("--by", required=True)
    a_ack.add_argument("--note", default="")
    a_res = al.add_parser("resolve", help="resolve an alert with an outcome code")
    a_res.add_argument("id", type=int)
    a_res.add_argument("--by", required=True)
    a_res.add_argument("--outcome", required=True, choices=[o.value for o in Outcome])

    dl = sub.add_parser("dead-letters", help="rejected messages").add_subparsers(
        dest="action", required=True
    )
    dl.add_parser("list", help="list dead letters").add_argument("--json", action="store_true")
    sub.add_parser("schema", help="print the event payload's JSON Schema")
    bt = sub.add_parser("backtest", help="run detection over an event-log CSV, in event time")
    bt.add_argument("file", type=Path)
    bt.add_argument("--json", action="store_true", help="alerts as JSON lines only")
    bt.add_argument("--tz", default=None, help="homes' IANA zone (default TELECARE_DEFAULT_TZ)")
    bt.add_argument("--settings", type=Path, default=None, help='JSON {"*"|HUB_ID: rules}')
    sim = sub.add_parser("sim", help="the device simulator (same as python -m firmware_sim)",
                         add_help=False)
    sim.add_argument("sim_args", nargs=argparse.REMAINDER)
    cli_care.add_parsers(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `telecare` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings()
        return _dispatch(args, settings)
    except (ConfigError, StoreError, CipherError, PolicyError) as exc:
        print(f"telecare: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "serve":
        return _serve(settings)
    if args.command == "demo":
        from telecare.demo import run_demo

        return run_demo(settings, homes=args.homes, seconds=args.seconds,
                        embedded_broker=args.embedded_broker)
    if args.command == "backtest":
        from telecare.backtest import BacktestError
        from telecare.backtest import main as backtest

        try:
            return backtest(args.file, as_json=args.json, tz=args.tz or settings.default_tz,
                            settings_path=args.settings)
        except BacktestError as exc:
            print(f"telecare: {exc}", file=sys.stderr)
            return 2
    if args.command == "sim":
        from firmware_sim.__main__ import main as simulator

        return simulator(args.sim_args)
    if args.command == "schema":
        print(json.dumps(event_json_schema(), indent=2))
        return 0
    store = SqliteStore.open(settings.db_path)
    try:
        if args.command in cli_care.COMMANDS:
            return cli_care.dispatch(args, settings, store)
        return _store_command(args, settings, store)
    finally:
        store.close()


def _store_command(args: argparse.Namespace, settings: Settings, store: SqliteStore) -> int:
    now = _now()
    match (args.command, args.action):
        case ("hub", "add"):
            hub = add_hub(
                store, args.hub_id, heartbeat_s=args.heartbeat_s,
                tz=args.tz or settings.default_tz, now=now, by=_actor(args),
            )
            print(f"hub {hub.hub_id} registered (heartbeat {hub.heartbeat_s} s, {hub.tz})")
        case ("hub", "reset-seq"):
            reset_seq(store, args.hub_id, now=now, by=_actor(args))
            print(f"hub {args.hub_id}: seq window reset; the next seq may start from 0")
        case ("hub", "configure"):
            rules_now = rules.configure_hub(store, args.hub_id, rules.changes_from(args),
                                            now=now, by=_actor(args))
            print(rules.describe(args.hub_id, rules_now))
        case ("hub", "list"):
            for hub in store.hubs():
                print(f"{hub.hub_id}\theartbeat {hub.heartbeat_s} s\t{hub.tz}")
        case ("device", "add"):
            device = Device(args.hub_id, args.device_id, args.type, args.location)
            add_device(store, device, now=now, by=_actor(args))
            print(f"device {args.device_id} registered on hub {args.hub_id}")
        case ("device", "import"):
            report = import_devices(
                store, args.file, default_tz=settings.default_tz, now=now, by=_actor(args)
            )
            print(f"imported {report.devices} devices ({report.hubs_added} new hubs)")
        case ("alerts", "list"):
            _print_alerts(store, as_json=args.json, include_resolved=args.all)
        case ("alerts", "ack"):
            alert = lifecycle.acknowledge(store, args.id, by=args.by, now=now, note=args.note)
            print(f"alert {alert.id} acknowledged by {alert.acknowledged_by}")
        case ("alerts", "resolve"):
            alert = lifecycle.resolve(store, args.id, by=args.by, outcome=args.outcome, now=now)
            print(f"alert {alert.id} resolved by {alert.resolved_by}: {alert.outcome}")
        case ("dead-letters", "list"):
            rows = store.dead_letters()
            if args.json:
                print(json.dumps(rows, indent=2))
            for row in [] if args.json else rows:
                print(f"{rfc3339(row['received_at'])}  {row['reason']:<18} {row['topic']}  "
                      f"{row['detail']}")
    return 0


def _print_alerts(store: SqliteStore, *, as_json: bool, include_resolved: bool) -> None:
    alerts = store.alerts(include_resolved=include_resolved)
    if as_json:
        print(json.dumps([a.to_json_dict() for a in alerts], indent=2))
        return
    if not alerts:
        print("no alerts")
    for a in alerts:
        cleared = "  (cleared by device)" if a.cleared_at else ""
        if a.suppressed_by:
            cleared += f"  [suppressed by {a.suppressed_by}]"
        print(f"#{a.id:<5} P{a.priority}  {a.state:<12} {a.type:<14} {a.hub_id:<20} "
              f"{rfc3339(a.raised_at)}  x{a.occurrences}  {a.reason}{cleared}")


def _serve(settings: Settings) -> int:
    from telecare.service import Service

    async def run() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await Service(settings).run()
        except asyncio.CancelledError:
            logging.getLogger("telecare").info("stopped cleanly")

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
