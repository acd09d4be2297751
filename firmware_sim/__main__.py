"""Command line: `python -m firmware_sim generate | run | devices` (see --help)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from datetime import datetime

from firmware_sim.csvlog import DEFAULT_START, generate, write_event_log
from firmware_sim.homes import HomeSpec, plan_homes, write_device_csv
from firmware_sim.incidents import write_truth
from firmware_sim.live import SimStats, run_live


def _aware_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a time zone, e.g. 2026-01-05T00:00:00Z")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m firmware_sim", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    def homes_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--homes", type=int, required=True, help="number of homes")
        command.add_argument("--seed", type=int, default=0, help="random seed (>= 0)")
        command.add_argument("--heartbeat-s", type=int, default=60, help="hub heartbeat period")

    gen = commands.add_parser("generate", help="write an event-log CSV of simulated days")
    homes_options(gen)
    gen.add_argument("--days", type=int, required=True, help="number of days")
    gen.add_argument("--out", required=True, help="event-log CSV to write")
    gen.add_argument("--truth", help="ground-truth JSON lines to write (injected incidents)")
    gen.add_argument(
        "--start", type=_aware_datetime, default=DEFAULT_START, help="RFC 3339 start time"
    )

    run = commands.add_parser("run", help="publish the homes live over MQTT until Ctrl-C")
    homes_options(run)
    run.add_argument("--broker", required=True, help="broker URL, e.g. mqtt://127.0.0.1:1883")
    run.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real one")

    devices = commands.add_parser("devices", help="write the homes' devices for device import")
    homes_options(devices)
    devices.add_argument("--out", required=True, help="devices CSV to write")
    return parser


async def _run_until_signal(
    broker: str, homes: Sequence[HomeSpec], *, speed: float, seed: int
) -> SimStats:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"{len(homes)} homes publishing to {broker}; Ctrl-C to stop", file=sys.stderr)
    return await run_live(broker, homes, speed=speed, seed=seed, stop=stop)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator command line; return the exit status."""
    args = _parser().parse_args(argv)
    homes = plan_homes(args.homes, seed=args.seed, heartbeat_s=args.heartbeat_s)
    if args.command == "devices":
        rows = write_device_csv(homes, args.out)
        print(f"wrote {rows} devices of {len(homes)} homes to {args.out}", file=sys.stderr)
    elif args.command == "generate":
        events = generate(homes, args.days, args.seed, args.start)
        rows = write_event_log(events, args.out)
        print(f"wrote {rows} events to {args.out}", file=sys.stderr)
        if args.truth:
            # No incidents are injected into generated logs yet: the file is empty.
            write_truth(args.truth, (), start=args.start)
    else:
        stats = asyncio.run(_run_until_signal(args.broker, homes, speed=args.speed, seed=args.seed))
        print(
            f"published {stats.published}, acks {stats.acks_received}, "
            f"retransmissions {stats.retransmissions}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
