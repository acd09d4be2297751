"""Escalation policies as data: ordered steps, each with a wait and its targets.

Policies come from a documented TOML file (`escalation_file` in the settings)
or the built-in defaults below. The policy that matches an alert is copied
into the alert's escalation when it opens, so a later edit never changes an
escalation already under way.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Final

import msgspec

TARGETS: Final = frozenset({"supervisor", "carer", "keyholder", "responder"})


class PolicyError(Exception):
    """The policy file cannot be used."""


class Step(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One step: after `wait_s`, try each contact of the target role in order."""

    target: str
    wait_s: int
    attempts: int = 1
    retry_s: int = 60
    channels: list[str] = msgspec.field(default_factory=list)
    require_accept: bool = False


class EscalationPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What happens, and when, while nobody has acknowledged an alert."""

    name: str
    priorities: list[int]
    steps: list[Step]
    types: list[str] = msgspec.field(default_factory=list)
    audience: str = "operator"
    repeat: int = 0
    reescalate_after_s: int = 1800
    fallback: bool = True


class PolicySet(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Every policy, first match wins."""

    policy: list[EscalationPolicy]

    def choose(self, alert_type: str, priority: int, audience: str) -> EscalationPolicy | None:
        """The first policy that matches the alert, or None."""
        for p in self.policy:
            if priority in p.priorities and p.audience == audience and (
                not p.types or alert_type in p.types
            ):
                return p
        return None


DEFAULT_POLICIES: Final = """
# Life safety and confirmed alarms: the queue first, then people, each asked to accept.
[[policy]]
name = "life-safety"
priorities = [1, 2]
reescalate_after_s = 1800
steps = [
  { target = "supervisor", wait_s = 60 },
  { target = "carer", wait_s = 120, attempts = 2, retry_s = 120, require_accept = true },
  { target = "keyholder", wait_s = 120, attempts = 2, retry_s = 120, require_accept = true },
  { target = "responder", wait_s = 120, attempts = 2, retry_s = 120, require_accept = true },
]

[[policy]]
name = "welfare"
priorities = [3]
reescalate_after_s = 7200
steps = [
  { target = "supervisor", wait_s = 900 },
  { target = "carer", wait_s = 900, require_accept = true, retry_s = 600 },
]

# Welfare notices addressed to carers (routine change): a notice, no queue.
[[policy]]
name = "carer-notice"
priorities = [1, 2, 3, 4, 5]
audience = "carer"
reescalate_after_s = 86400
steps = [{ target = "carer", wait_s = 0, channels = ["email", "sms"] }]

[[policy]]
name = "technical"
priorities = [4]
reescalate_after_s = 86400
steps = [{ target = "supervisor", wait_s = 3600, channels = ["email"] }]
"""


def parse_policies(text: str, *, source: str = "policies") -> PolicySet:
    """Parse and check a policy TOML document."""
    try:
        policies = msgspec.convert(tomllib.loads(text), PolicySet)
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise PolicyError(f"{source}: {exc}") from exc
    for p in policies.policy:
        for i, step in enumerate(p.steps):
            where = f"{source}: policy {p.name!r} step {i + 1}"
            if step.target not in TARGETS:
                raise PolicyError(f"{where}: target must be one of {sorted(TARGETS)}")
            if step.wait_s < 0 or step.retry_s < 1 or step.attempts < 1:
                raise PolicyError(f"{where}: waits must be >= 0, retries >= 1 s, attempts >= 1")
            if set(step.channels) - {"sms", "email"}:
                raise PolicyError(f"{where}: channels are sms and email")
        if not p.steps:
            raise PolicyError(f"{source}: policy {p.name!r} has no steps")
    return policies


def load_policies(path: str | Path | None) -> PolicySet:
    """Load the policy file, or the built-in defaults when no file is configured."""
    if not path:
        return parse_policies(DEFAULT_POLICIES, source="built-in policies")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read escalation file {path}: {exc}") from exc
    return parse_policies(text, source=str(path))


def snapshot(policy: EscalationPolicy) -> str:
    """The policy as stored with an alert's escalation."""
    return msgspec.json.encode(policy).decode()


def from_snapshot(text: str) -> EscalationPolicy:
    """Read back a stored policy."""
    return msgspec.json.decode(text, type=EscalationPolicy)
