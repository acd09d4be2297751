"""The SMS adapters against a local gateway speaking the Notify and Twilio contracts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from notify_servers import SmsGateway

from telecare.alerts.channels import Outgoing, PermanentError, RetryableError
from telecare.alerts.channels.sms import NotifySms, TwilioSms


@pytest.fixture
def gateway() -> Iterator[SmsGateway]:
    gw = SmsGateway()
    gw.start()
    yield gw
    gw.stop()


def notify(gw: SmsGateway, secret: str) -> NotifySms:
    key = f"telecare-{'1' * 36}-{secret}"
    return NotifySms({"base_url": gw.url, "api_key": key, "template_id": "t-1"})


async def test_notify_sends_with_a_signed_token_and_the_key_as_reference(
    gateway: SmsGateway,
) -> None:
    """A valid JWT gets a 201; the gateway sees the idempotency key as `reference`."""
    ref = await notify(gateway, gateway.notify_secret).send(
        Outgoing("7:1:C-1:sms:1", "+447700900001", "s", "hello"))
    assert ref == "n-1"
    assert [(m.to, m.key, m.body) for m in gateway.messages()] == [
        ("+447700900001", "7:1:C-1:sms:1", "hello")]


async def test_notify_with_a_wrong_secret_is_a_permanent_failure(gateway: SmsGateway) -> None:
    """403 is not retried."""
    with pytest.raises(PermanentError):
        await notify(gateway, "9" * 36).send(Outgoing("k", "+447700900001", "s", "b"))


async def test_twilio_sends_with_the_idempotency_header_and_503_is_retryable(
    gateway: SmsGateway,
) -> None:
    """201 with a sid; a gateway outage is retried, not dropped."""
    twilio = TwilioSms({"base_url": gateway.url, "account_sid": gateway.account_sid,
                        "auth_token": gateway.auth_token, "from": "+447700900000"})
    assert await twilio.send(Outgoing("k-1", "+447700900002", "s", "b")) == "SM1"
    assert gateway.messages()[0].key == "k-1"
    gateway.down = True
    with pytest.raises(RetryableError):
        await twilio.send(Outgoing("k-2", "+447700900002", "s", "b"))
