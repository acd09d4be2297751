"""Alerts that reach a person: escalation over real SMTP and a real HTTP SMS gateway."""

from __future__ import annotations

import itertools
import random
import re
import textwrap
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import HubClient, ServiceProcess, event, free_port, wait_until
from notify_servers import Received, SmsGateway, SmtpSink

from telecare.protocol import Channel, topic_for
from telecare.store import SqliteStore

HUB = "H-esc-1"
POLICY = """
[[policy]]
name = "test-life-safety"
priorities = [1, 2]
reescalate_after_s = 600
steps = [
  { target = "supervisor", wait_s = 2 },
  { target = "carer", wait_s = 2, attempts = 2, retry_s = 2, require_accept = true },
]
"""


@dataclass
class Centre:
    """A running service with its SMTP and SMS peers and the ids of its contacts."""

    service: ServiceProcess
    smtp: SmtpSink
    gateway: SmsGateway
    contacts: dict[str, str]

    def store(self) -> SqliteStore:
        """Open the service's real store file."""
        return SqliteStore.open(self.service.env["TELECARE_DATA_DIR"] + "/telecare.db")

    def press(self, hub_client: HubClient, hub: str = HUB, seq: int = 1) -> dict[str, object]:
        """Publish a pendant press; return its alert once listed."""
        hub_client.publish(topic_for(hub, Channel.ALARM), event(hub, seq, "pendant-1",
                                                                "pendant", "press"))
        return dict(wait_until(lambda: [a for a in self.service.alerts() if a["hub_id"] == hub],
                               5, "the press")[0])

    def received(self) -> list[tuple[str, Received]]:
        """Everything both peers received, in arrival order, tagged with the channel."""
        both = [("email", m) for m in self.smtp.messages()]
        both += [("sms", m) for m in self.gateway.messages()]
        return sorted(both, key=lambda pair: pair[1].at)


def _config(tmp_path: Path, smtp_port: int, gateway: SmsGateway, policy: str) -> Path:
    (tmp_path / "escalation.toml").write_text(policy)
    conf = tmp_path / "telecare.toml"
    conf.write_text(textwrap.dedent(f"""\
        email_transport = "smtp"
        sms_gateway = "twilio"
        escalation_file = "{tmp_path / 'escalation.toml'}"
        [smtp]
        host = "127.0.0.1"
        port = {smtp_port}
        from = "alerts@centre.example"
        timeout_s = 3
        [twilio]
        base_url = "{gateway.url}"
        account_sid = "{gateway.account_sid}"
        auth_token = "{gateway.auth_token}"
        from = "+447700900000"
        """))
    return conf


def _register(service: ServiceProcess, hub: str = HUB) -> dict[str, str]:
    service.cli("hub", "add", hub)
    service.cli("device", "add", hub, "pendant-1", "--type", "pendant")
    service.cli("resident", "add", hub, "--name", "Resident Example", "--key-safe", "1234",
                "--health-notes", "heart condition")
    ids = {}
    for name, args in (
        ("carer_a", ["--role", "carer", "--phone", "+447700900001"]),
        ("carer_b", ["--role", "carer", "--email", "carer.b@example.org"]),
    ):
        out = service.cli("contact", "add", hub, "--name", name, "--consent", *args).stdout
        ids[name] = out.split()[1]
    return ids


@pytest.fixture
def centre(service_env: ServiceProcess, tmp_path: Path, request: pytest.FixtureRequest
           ) -> Iterator[Centre]:
    """Service + aiosmtpd + SMS gateway, with a supervisor and two carers registered."""
    policy = getattr(request, "param", POLICY)
    smtp = SmtpSink(free_port())
    smtp.start()
    gateway = SmsGateway()
    gateway.start()
    service_env.env["TELECARE_CONFIG"] = str(_config(tmp_path, smtp.port, gateway, policy))
    contacts = _register(service_env)
    out = service_env.cli("contact", "add", "--centre", "--role", "supervisor", "--name", "sup",
                          "--email", "sup@centre.example", "--phone", "+447700900009",
                          "--channels", "email,sms", "--consent").stdout
    contacts["supervisor"] = out.split()[1]
    service_env.start()
    try:
        yield Centre(service_env, smtp, gateway, contacts)
    finally:
        if service_env.process is not None and service_env.process.poll() is None:
            service_env.process.kill()
            service_env.process.wait(10)
        smtp.stop()
        gateway.stop()


def test_an_unacknowledged_press_walks_the_whole_escalation_in_order_with_times(
    centre: Centre, hub_client: HubClient
) -> None:
    """Supervisor after the first wait, then carer A by SMS twice, then carer B by email."""
    alert = centre.press(hub_client)
    c = centre.contacts
    wait_until(lambda: len(centre.received()) >= 5, 30, "five messages")
    got = centre.received()
    assert [(ch, m.to) for ch, m in got] == [
        ("email", "sup@centre.example"),
        ("sms", "+447700900001"), ("sms", "+447700900001"),
        ("email", "carer.b@example.org"), ("email", "carer.b@example.org"),
    ]
    gaps = [b.at - a.at for (_, a), (_, b) in itertools.pairwise(got)]
    assert all(1.0 <= g <= 3.5 for g in gaps), gaps
    keys = [m.key for _, m in got]
    aid = alert["id"]
    assert keys[1:3] == [f"{aid}:1:{c['carer_a']}:sms:1", f"{aid}:1:{c['carer_a']}:sms:2"]
    assert keys[0] == f"<{aid}.0.{c['supervisor']}.email.1@centre.example>"
    for _, m in got:  # no health details, no name, no key-safe code in any message
        assert "heart" not in m.body and "1234" not in m.body and "Resident" not in m.body

    def sent_times() -> list[int | None]:
        # the service stores a message's sent time once its server has answered, so the
        # last may be stored a moment after the server above has it
        store = centre.store()
        try:
            return [m.sent_at for m in store.alerting.messages(aid)]
        finally:
            store.close()

    wait_until(lambda: len(sent_times()) == 5 and None not in sent_times(), 10,
               "the five sent times stored")


def test_an_acknowledgement_midway_stops_the_rest_and_a_contact_can_accept_by_link(
    centre: Centre, hub_client: HubClient
) -> None:
    """Ack after carer A's first SMS: nothing more is pending; a second alert is accepted."""
    alert = centre.press(hub_client)
    wait_until(lambda: len(centre.gateway.messages()) >= 1, 15, "carer A's first SMS")
    centre.service.cli("alerts", "ack", str(alert["id"]), "--by", "operator-2")
    store = centre.store()
    esc = store.alerting.escalation(int(str(alert["id"])))
    pending = [m for m in store.alerting.messages(int(str(alert["id"]))) if m.state == "pending"]
    store.close()
    assert esc is not None and esc.state == "acknowledged" and pending == []
    assert esc.next_at is not None and esc.next_at - time.time() * 1000 > 500_000  # re-esc.
    # carer A's second try may already be on its way when the ack lands; carer B is never
    # reached, and the escalation owes nobody anything any more
    to = [m.to for _, m in centre.received()]
    assert to[:2] == ["sup@centre.example", "+447700900001"] and len(to) <= 3
    assert "carer.b@example.org" not in to

    centre.service.cli("alerts", "resolve", str(alert["id"]), "--by", "operator-2",
                       "--outcome", "resident_ok")
    before = len(centre.gateway.messages())
    second = centre.press(hub_client, seq=2)
    wait_until(lambda: len(centre.gateway.messages()) > before, 15, "carer A's SMS for alert 2")
    link = re.search(r"http://\S+/accept/\S+", centre.gateway.messages()[-1].body)
    assert link is not None
    with urllib.request.urlopen(link.group(0), timeout=5) as page:  # GET only asks
        assert b"Can you go?" in page.read()
    assert centre.service.alerts()[0]["state"] == "open"
    request = urllib.request.Request(link.group(0), data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as page:
        assert b"Thank you" in page.read()
    accepted = centre.service.alerts()[0]
    assert accepted["id"] == second["id"] and accepted["state"] == "acknowledged"
    assert accepted["acknowledged_by"] == f"contact:{centre.contacts['carer_a']}"


def test_smtp_down_loses_nothing_and_priority_one_falls_back_to_sms_meanwhile(
    centre: Centre, hub_client: HubClient
) -> None:
    """The supervisor's email fails, an SMS goes instead at once, the email follows once."""
    centre.smtp.stop()
    alert = centre.press(hub_client)
    sup_sms = wait_until(
        lambda: [m for m in centre.gateway.messages() if m.to == "+447700900009"], 15,
        "the supervisor's fallback SMS")
    assert len(sup_sms) == 1 and centre.smtp.messages() == []
    centre.smtp.start()
    wait_until(lambda: [m for m in centre.smtp.messages() if m.to == "sup@centre.example"], 30,
               "the supervisor's email once SMTP is back")
    wait_until(lambda: len(centre.received()) >= 6, 30, "every message of the escalation")
    keys = Counter(m.key for _, m in centre.received())
    assert max(keys.values()) == 1, keys

    def states() -> Counter[str]:
        store = centre.store()
        try:
            return Counter(m.state for m in store.alerting.messages(int(str(alert["id"]))))
        finally:
            store.close()

    # a message is marked sent just after its server took it: wait for the record too
    wait_until(lambda: states() == {"sent": 6}, 15, "every message recorded as sent")
    assert states() == {"sent": 6} and len(centre.received()) == 6


KILL_POLICY = """
[[policy]]
name = "kill-test"
priorities = [1, 2]
steps = [
  { target = "supervisor", wait_s = 1 },
  { target = "carer", wait_s = 1, attempts = 2, retry_s = 1, require_accept = true },
]
"""


@pytest.mark.parametrize("centre", [KILL_POLICY], indirect=True)
def test_sigkill_at_random_points_of_an_escalation_loses_no_message(
    centre: Centre, hub_client: HubClient
) -> None:
    """20 kills: the alert stays open, timers resume, nothing is lost, a repeat keeps its key."""
    alert = centre.press(hub_client)
    aid, c = alert["id"], centre.contacts
    expected = {
        f"<{aid}.0.{c['supervisor']}.email.1@centre.example>",
        f"{aid}:1:{c['carer_a']}:sms:1", f"{aid}:1:{c['carer_a']}:sms:2",
        f"<{aid}.1.{c['carer_b']}.email.1@centre.example>",
        f"<{aid}.1.{c['carer_b']}.email.2@centre.example>",
    }
    rng = random.Random(20261122)
    for _ in range(20):
        time.sleep(rng.uniform(0.05, 0.6))  # a random point of the escalation to kill at
        centre.service.kill()
        centre.service.start()
    assert [a["state"] for a in centre.service.alerts()] == ["open"]
    wait_until(lambda: expected <= {m.key for _, m in centre.received()}, 40,
               "every expected message after the kills")
    keys = Counter(m.key for _, m in centre.received())
    lost = len(expected - set(keys))
    duplicated = sum(n - 1 for n in keys.values())
    print(f"kills=20 lost={lost} duplicated={duplicated} keys={dict(keys)}")
    assert lost == 0
    assert set(keys) == expected  # a duplicate can only be a resend under the same key
    assert duplicated <= 20
