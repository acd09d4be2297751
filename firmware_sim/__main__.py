"""Command line: `python -m firmware_sim generate | run | replay | devices` (see --help)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from firmware_sim.csvlog import DEFAULT_START, generate, write_event_log
from firmware_sim.homes import (
    DEFAULT_KIT_MIX,
    DEFAULT_LIFESTYLE_MIX,
    HomeSpec,
    Lifestyle,
    parse_mix,
    plan_homes,
    write_device_csv,
)
from firmware_sim.hub import HubEvent
from firmware_sim.incidents import (
    DEFAULT_RATE_PER_WEEK,
    DEFAULT_WEIGHTS,
    Incident,
    IncidentKind,
    Truth,
    write_truth_records,
)
from firmware_sim.kits import KITS
from firmware_sim.live import FleetOptions, SimStats, run_fleet
from firmware_sim.network import CLEAN, REALISTIC
from firmware_sim.progress import RunProgress
from firmware_sim.replay import replay

_DAY_S: Final = 86400.0
# Up to this many homes get a connection each; more share a pool.
_PER_HUB_UP_TO: Final = 2000
_POOL: Final = 8
_AUTO: Final = -1


def _aware_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. 2026-01-05T00:00:00Z")
    return value


def _zone(text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown time zone {text!r}") from None
    return text


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("speed must be > 0 or max")
    return value


def _connections(text: str) -> int | None:
    if text in ("auto", "per-hub"):
        return {"auto": _AUTO, "per-hub": None}[text]
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("--connections wants per-hub, auto or a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("--connections wants at least 1")
    return value


def _outage(text: str) -> tuple[float, float]:
    at, _, duration = text.partition(":")
    try:
        values = float(at), float(duration)
    except ValueError:
        raise argparse.ArgumentTypeError("--outage wants AT_S:FOR_S, e.g. 600:300") from None
    if values[0] < 0 or values[1] <= 0:
        raise argparse.ArgumentTypeError("--outage wants AT_S >= 0 and FOR_S > 0")
    return values


def _mix_of(known: Sequence[str]) -> Callable[[str], dict[str, float]]:
    def parse(text: str) -> dict[str, float]:
        try:
            return parse_mix(text, known)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m firmware_sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def homes_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--homes", type=int, required=True, help="number of homes")
        command.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
        command.add_argument("--heartbeat-s", type=int, default=60, help="hub heartbeat period")
        command.add_argument("--tz", type=_zone, default="UTC",
                             help="the residents' IANA time zone (default UTC)")
        command.add_argument("--kits", type=_mix_of(list(KITS)), default=dict(DEFAULT_KIT_MIX),
                             help="kit mix, e.g. sparse=0.2,standard=0.8 (kits: "
                                  f"{', '.join(KITS)})")
        command.add_argument("--lifestyles", type=_mix_of(list(Lifestyle)),
                             default=dict(DEFAULT_LIFESTYLE_MIX),
                             help="resident mix, e.g. retired=3,worker=1")
        command.add_argument("--devices", help="also write the homes' devices CSV here")

    def incident_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--incident-rate", type=float, default=DEFAULT_RATE_PER_WEEK,
                             help="incidents per home-week (0 for none; default 1)")
        command.add_argument("--incidents", type=_mix_of([k.value for k in IncidentKind]),
                             default=dict(DEFAULT_WEIGHTS),
                             help="which incidents and how often, e.g. "
                                  "silent_collapse=1,night_exit_no_return=1")
        command.add_argument("--truth", help="ground-truth JSON lines to write")
        command.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                             help="show a progress bar (default: when stderr is a terminal)")

    gen = commands.add_parser("generate", help="write an event-log CSV of simulated days")
    homes_options(gen)
    incident_options(gen)
    gen.add_argument("--days", type=int, required=True, help="number of days")
    gen.add_argument("--out", required=True, help="event-log CSV to write")
    gen.add_argument("--start", type=_aware_datetime, default=DEFAULT_START,
                     help="RFC 3339 start time (default 2026-01-05T00:00:00Z)")

    run = commands.add_parser("run", help="publish the homes live over MQTT until Ctrl-C")
    homes_options(run)
    incident_options(run)
    run.add_argument("--broker", required=True, help="broker URL, e.g. mqtt://127.0.0.1:1883")
    run.add_argument("--speed", type=_speed, default=1.0,
                     help="simulated seconds per real one, or max (default 1)")
    run.add_argument("--rate", type=float, help="target events per second (instead of --speed)")
    run.add_argument("--days", type=float, help="stop after this many simulated days")
    run.add_argument("--start", type=_aware_datetime,
                     help="simulated start (default now); in the past keeps device time behind "
                          "the service's clock when --speed > 1")
    run.add_argument("--connections", type=_connections, default=_AUTO,
                     help="per-hub, a pool size N, or auto (per-hub up to 2000 homes)")
    run.add_argument("--passwords", help="CSV hub_id,password for per-hub connections")
    run.add_argument("--network", choices=("clean", "realistic"), default="realistic",
                     help="duplicates, reordering, late delivery and clock drift (default on)")
    run.add_argument("--retransmit-s", type=float, default=5.0,
                     help="real seconds between sends of an unacknowledged alarm")
    run.add_argument("--outage", type=_outage, metavar="AT_S:FOR_S",
                     help="every hub's link down at once, AT_S simulated seconds in, for FOR_S: "
                          "the will storm, then the burst when all come back")

    rep = commands.add_parser("replay", help="publish a recorded event-log CSV over MQTT")
    rep.add_argument("file", help="event-log CSV")
    rep.add_argument("--broker", required=True, help="broker URL, e.g. mqtt://127.0.0.1:1883")
    rep.add_argument("--speed", type=_speed, default=None,
                     help="times the log's pace, or max (default max)")
    rep.add_argument("--connections", type=int, default=4, help="MQTT connections to share")
    rep.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    devices = commands.add_parser("devices", help="write the homes' devices for device import")
    homes_options(devices)
    devices.add_argument("--out", required=True, help="devices CSV to write")
    return parser


def _homes(args: argparse.Namespace) -> list[HomeSpec]:
    return plan_homes(args.homes, seed=args.seed, heartbeat_s=args.heartbeat_s, tz=args.tz,
                      kits=args.kits, lifestyles=args.lifestyles)


def _generate(args: argparse.Namespace, homes: list[HomeSpec]) -> None:
    truths: list[Truth] = []
    start = args.start.astimezone(UTC)
    events = generate(homes, args.days, args.seed, start, incident_rate=args.incident_rate,
                      weights=args.incidents, truths=truths)
    begin = start.timestamp()
    with RunProgress("generate", total=args.days * _DAY_S, start=begin,
                     enabled=args.progress) as progress:

        def watched() -> Iterator[HubEvent]:
            for n, event in enumerate(events):
                if n % 200_000 == 0:
                    progress.update(event.at, n)
                yield event

        rows = write_event_log(watched(), args.out)
    print(f"wrote {rows} events of {len(homes)} homes to {args.out}", file=sys.stderr)
    if args.truth:
        count = write_truth_records(args.truth, truths)
        print(f"wrote {count} injected incidents to {args.truth}", file=sys.stderr)


def _passwords(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {row["hub_id"]: row["password"] for row in csv.DictReader(f)}


async def _run(args: argparse.Namespace, homes: list[HomeSpec]) -> SimStats:
    connections = args.connections
    if connections == _AUTO:
        connections = None if len(homes) <= _PER_HUB_UP_TO else _POOL
    start = args.start.timestamp() if args.start is not None else time.time()
    options = FleetOptions(
        seed=args.seed, speed=None if args.rate else args.speed, rate=args.rate, start=start,
        until_s=None if args.days is None else args.days * _DAY_S,
        incident_rate=args.incident_rate, weights=args.incidents,
        network=REALISTIC if args.network == "realistic" else CLEAN,
        retransmit_s=args.retransmit_s, connections=connections,
        passwords=_passwords(args.passwords),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Signals reach the main thread only; elsewhere (a caller's thread) run until done.
        with contextlib.suppress(ValueError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    how = "per-hub connections" if connections is None else f"{connections} shared connections"
    print(f"{len(homes)} homes publishing to {args.broker} over {how}; Ctrl-C to stop",
          file=sys.stderr)
    total = None if args.days is None else args.days * _DAY_S
    incidents = []
    if args.outage is not None:
        at, duration = args.outage
        incidents = [Incident(h.hub_id, IncidentKind.HUB_OFFLINE, at, duration) for h in homes]
    with RunProgress("run", total=total, start=start, enabled=args.progress) as progress:
        return await run_fleet(args.broker, homes, options, incidents=incidents, stop=stop,
                               on_progress=progress.update)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator command line; return the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "replay":
        return _replay(args)
    homes = _homes(args)
    if args.devices or args.command == "devices":
        path = args.out if args.command == "devices" else args.devices
        rows = write_device_csv(homes, path)
        print(f"wrote {rows} devices of {len(homes)} homes to {path}", file=sys.stderr)
    if args.command == "generate":
        _generate(args, homes)
    elif args.command == "run":
        try:
            stats = asyncio.run(_run(args, homes))
        except (ConnectionError, OSError) as exc:
            print(f"cannot publish to {args.broker}: {exc}", file=sys.stderr)
            return 1
        print(f"published {stats.published}, acks {stats.acks_received}, "
              f"retransmissions {stats.retransmissions}, duplicates {stats.duplicates}, "
              f"delayed {stats.delayed}, {stats.events} events in {stats.real_seconds:.1f} s",
              file=sys.stderr)
        if args.truth:
            count = write_truth_records(args.truth, stats.truths)
            print(f"wrote {count} injected incidents to {args.truth}", file=sys.stderr)
    return 0


def _replay(args: argparse.Namespace) -> int:
    with open(args.file, encoding="utf-8") as f:
        total = sum(1 for _ in f) - 1
    with RunProgress("replay", total=total, enabled=args.progress) as progress:
        try:
            stats = asyncio.run(replay(args.file, args.broker, speed=args.speed,
                                       connections=args.connections,
                                       on_progress=progress.update))
        except (ConnectionError, OSError, ValueError) as exc:
            print(f"cannot replay {args.file} to {args.broker}: {exc}", file=sys.stderr)
            return 1
    print(f"replayed {stats.rows} rows of {len(stats.per_hub)} hubs in "
          f"{stats.real_seconds:.1f} s ({stats.broker_acked} acknowledged by the broker)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
