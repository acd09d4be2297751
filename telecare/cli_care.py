"""CLI for the people side: residents, contacts, silences, the outbox and service reports."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

from telecare.config import Settings
from telecare.model import parse_rfc3339, rfc3339
from telecare.people.crypto import FieldCipher
from telecare.people.directory import ContactSpec, Directory, ResidentSpec
from telecare.report import answer_times
from telecare.store import SqliteStore, StoreError

COMMANDS = frozenset({"resident", "contact", "silence", "outbox", "report"})
_UNITS = {"m": 60, "h": 3600, "d": 86400}


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the subcommands."""
    res = sub.add_parser("resident", help="residents (personal fields encrypted)")
    r = res.add_subparsers(dest="action", required=True)
    r_add = r.add_parser("add", help="register or replace the resident of a hub")
    r_add.add_argument("hub_id")
    r_add.add_argument("--name", required=True)
    for opt in ("--address", "--access", "--key-safe", "--health-notes", "--protocol"):
        r_add.add_argument(opt, default="")
    r_add.add_argument("--by", default="cli")
    r_show = r.add_parser("show", help="show a hub's resident (key-safe code masked)")
    r_show.add_argument("hub_id")
    r_show.add_argument("--reveal-key-safe", action="store_true")
    r_show.add_argument("--by", default=None, help="required with --reveal-key-safe")
    r_imp = r.add_parser("import", help="residents, contacts and centre staff from JSON")
    r_imp.add_argument("file", type=Path)
    r_imp.add_argument("--by", default="cli")

    con = sub.add_parser("contact", help="carers, key holders, responders, supervisors")
    c = con.add_subparsers(dest="action", required=True)
    c_add = c.add_parser("add", help="add a contact at the end of the escalation order")
    c_add.add_argument("hub_id", nargs="?", help="the hub (omit with --centre)")
    c_add.add_argument("--centre", action="store_true", help="centre staff (supervisor)")
    c_add.add_argument("--role", required=True)
    c_add.add_argument("--name", required=True)
    c_add.add_argument("--phone", default="")
    c_add.add_argument("--email", default="")
    c_add.add_argument("--channels", default=None,
                       help="in order of preference (default: sms then email, where given)")
    c_add.add_argument("--hours", default="", help="e.g. 08:00-22:00 (home's local time)")
    c_add.add_argument("--consent", action="store_true", help="agreed to be contacted")
    c_add.add_argument("--by", default="cli")
    c_list = c.add_parser("list", help="a hub's contacts in escalation order")
    c_list.add_argument("hub_id", nargs="?")
    c_list.add_argument("--centre", action="store_true")

    sil = sub.add_parser("silence", help="maintenance windows and absences")
    s = sil.add_subparsers(dest="action", required=True)
    s_add = s.add_parser("add", help="suppress matching alerts (never priority 1) for a while")
    s_add.add_argument("--hub", default=None, help="one hub (default: every hub)")
    s_add.add_argument("--types", default="", help="alert types, comma-separated (default all)")
    s_add.add_argument("--for", dest="duration", default=None, help="e.g. 90m, 4h, 14d")
    s_add.add_argument("--until", default=None, help="RFC 3339 end")
    s_add.add_argument("--reason", required=True)
    s_add.add_argument("--by", required=True)
    s.add_parser("list", help="every silence")
    s_end = s.add_parser("end", help="end a silence now")
    s_end.add_argument("id", type=int)
    s_end.add_argument("--by", required=True)

    out = sub.add_parser("outbox", help="notifications and their delivery")
    o = out.add_subparsers(dest="action", required=True)
    o.add_parser("list").add_argument("--alert", type=int, default=None)

    rep = sub.add_parser("report", help="service performance reports")
    rp = rep.add_subparsers(dest="action", required=True)
    at = rp.add_parser("answer-times", help="priority 1-2 answered within 60 s / 180 s")
    at.add_argument("--month", default=None, help="YYYY-MM (default: this month, UTC)")


def dispatch(args: argparse.Namespace, settings: Settings, store: SqliteStore) -> int:
    """Run one of this module's subcommands."""
    now = int(time.time() * 1000)
    if args.command == "report":
        month = args.month or datetime.now(UTC).strftime("%Y-%m")
        print(answer_times(store, month).render())
        return 0
    if args.command == "silence":
        return _silence(args, store, now)
    if args.command == "outbox":
        for m in store.alerting.messages(args.alert):
            sent = rfc3339(m.sent_at) if m.sent_at else "-"
            print(f"{m.id:<5} alert {m.alert_id:<5} {m.kind:<15} {m.recipient:<9} {m.channel:<5} "
                  f"try {m.tries:<2} {m.state:<9} sent {sent}  key {m.key}"
                  + (f"  error: {m.last_error}" if m.last_error else ""))
        return 0
    directory = Directory(store, FieldCipher.from_environment(settings.data_dir))
    if args.command == "resident":
        return _resident(args, directory, now)
    return _contact(args, directory, now)


def _resident(args: argparse.Namespace, directory: Directory, now: int) -> int:
    store = directory.store
    if args.action == "add":
        spec = ResidentSpec(hub_id=args.hub_id, name=args.name, address=args.address,
                            access=args.access, key_safe=args.key_safe,
                            health_notes=args.health_notes, response_protocol=args.protocol)
        with store.transaction():
            resident_id = directory.put_resident(spec, now=now)
            store.audit(now, args.by, "resident.put", f"hub:{args.hub_id}", resident_id)
        print(f"resident {resident_id} registered on hub {args.hub_id}")
    elif args.action == "import":
        residents, contacts = directory.import_file(args.file, now=now)
        with store.transaction():
            store.audit(now, args.by, "people.import", args.file.name,
                        f"{residents} residents, {contacts} contacts")
        print(f"imported {residents} residents and {contacts} contacts")
    else:
        resident = directory.resident(args.hub_id)
        if resident is None:
            raise StoreError(f"hub {args.hub_id} has no resident registered")
        key_safe = "(none)" if not resident.key_safe else "**** (use --reveal-key-safe)"
        if args.reveal_key_safe:
            if not args.by:
                raise StoreError("say who reads the key-safe code (--by NAME); it is audited")
            with store.transaction():
                store.audit(now, args.by, "resident.reveal_key_safe", f"hub:{args.hub_id}")
            key_safe = resident.key_safe
        print(f"resident {resident.resident_id} (hub {resident.hub_id})\n"
              f"  name:      {resident.name}\n  address:   {resident.address}\n"
              f"  access:    {resident.access}\n  key safe:  {key_safe}\n"
              f"  health:    {resident.health_notes}\n  protocol:  {resident.response_protocol}")
    return 0


def _contact(args: argparse.Namespace, directory: Directory, now: int) -> int:
    hub_id = None if args.centre else args.hub_id
    if hub_id is None and not args.centre:
        raise StoreError("name a hub, or --centre for centre staff")
    if args.action == "add":
        spec = ContactSpec(role=args.role, name=args.name, phone=args.phone, email=args.email,
                           channels=_channels(args),
                           hours=args.hours, consent=args.consent)
        with directory.store.transaction():
            contact_id = directory.add_contact(hub_id, spec, now=now)
            directory.store.audit(now, args.by, "contact.add", f"hub:{hub_id or 'centre'}",
                                  contact_id)
        print(f"contact {contact_id} added")
        return 0
    for c in directory.contacts(hub_id):
        print(f"{c.position}. {c.contact_id} {c.role:<10} {c.name}  {c.phone}  {c.email}  "
              f"via {','.join(c.channels)}  hours {c.hours or 'any'}  "
              f"{'consented' if c.consent else 'NO CONSENT (skipped)'}")
    return 0


def _channels(args: argparse.Namespace) -> list[str]:
    if args.channels is not None:
        return [c.strip() for c in args.channels.split(",") if c.strip()]
    return [name for name, given in (("sms", args.phone), ("email", args.email)) if given]


def _silence(args: argparse.Namespace, store: SqliteStore, now: int) -> int:
    if args.action == "list":
        for s in store.alerting.silences():
            ended = f" ended {rfc3339(s.ended_at)}" if s.ended_at else ""
            print(f"{s.id:<4} hub {s.hub_id or '*':<12} types {','.join(s.types) or '*':<20} "
                  f"{rfc3339(s.starts_at)} -> {rfc3339(s.ends_at)}{ended}  by {s.created_by}: "
                  f"{s.reason}")
        return 0
    if args.action == "end":
        with store.transaction():
            if not store.alerting.end_silence(args.id, now):
                raise StoreError(f"no active silence {args.id}")
            store.audit(now, args.by, "silence.end", f"silence:{args.id}")
        print(f"silence {args.id} ended")
        return 0
    ends_at = _end_time(args, now)
    if args.hub is not None and store.hub(args.hub) is None:
        raise StoreError(f"hub {args.hub} is not registered")
    types = tuple(t.strip() for t in args.types.split(",") if t.strip())
    with store.transaction():
        silence_id = store.alerting.add_silence(args.hub, types, now, ends_at, args.reason,
                                                args.by)
        store.audit(now, args.by, "silence.add", f"silence:{silence_id}",
                    f"hub={args.hub or '*'} types={','.join(types) or '*'} until "
                    f"{rfc3339(ends_at)}: {args.reason}")
    print(f"silence {silence_id} until {rfc3339(ends_at)}")
    return 0


def _end_time(args: argparse.Namespace, now: int) -> int:
    if (args.duration is None) == (args.until is None):
        raise StoreError("give exactly one of --for DURATION or --until TIME")
    if args.until is not None:
        try:
            ends_at = parse_rfc3339(args.until)
        except ValueError:
            raise StoreError(f"--until must be RFC 3339, not {args.until!r}") from None
    else:
        text = str(args.duration)
        if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit():
            raise StoreError(f"--for must look like 90m, 4h or 14d, not {text!r}")
        ends_at = now + int(text[:-1]) * _UNITS[text[-1]] * 1000
    if ends_at <= now:
        raise StoreError("a silence must end in the future")
    return ends_at

