"""SMS through an HTTP gateway: a GOV.UK Notify-style and a Twilio-style adapter.

Both speak the public APIs' request shapes, so either provider (or a gateway
that mimics one) can be configured; the reference / idempotency header carries
the message's key, so a resend after a crash can be recognised.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from telecare.alerts.channels import Outgoing, PermanentError, RetryableError

TIMEOUT_S = 15.0


def _classify(response: httpx.Response) -> None:
    if response.status_code in (200, 201, 202):
        return
    detail = f"gateway answered {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableError(detail)
    raise PermanentError(detail)


class NotifySms:
    """GOV.UK Notify: POST /v2/notifications/sms with a JWT signed by the API key's secret."""

    name = "sms"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.base_url = str(config.get("base_url", "https://api.notifications.service.gov.uk"))
        api_key = str(config["api_key"])
        # Notify keys read "{name}-{service id: 36 chars}-{secret: 36 chars}"
        self.service_id, self.secret = api_key[-73:-37], api_key[-36:]
        self.template_id = str(config["template_id"])

    async def send(self, message: Outgoing) -> str:
        """Send one SMS; `reference` is the idempotency key."""
        token = jwt.encode({"iss": self.service_id, "iat": int(time.time())}, self.secret,
                           algorithm="HS256")
        body = {"phone_number": message.to, "template_id": self.template_id,
                "personalisation": {"message": message.body}, "reference": message.key}
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT_S) as client:
                response = await client.post("/v2/notifications/sms", json=body,
                                             headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise RetryableError(f"gateway unreachable: {type(exc).__name__}") from exc
        _classify(response)
        return str(response.json().get("id", message.key))


class TwilioSms:
    """Twilio Messages API: form POST with basic auth and an idempotency token header."""

    name = "sms"

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.base_url = str(config.get("base_url", "https://api.twilio.com"))
        self.account_sid = str(config["account_sid"])
        self.auth_token = str(config["auth_token"])
        self.sender = str(config["from"])

    async def send(self, message: Outgoing) -> str:
        """Send one SMS; I-Twilio-Idempotency-Token is the idempotency key."""
        path = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        form = {"To": message.to, "From": self.sender, "Body": message.body}
        try:
            async with httpx.AsyncClient(base_url=self.base_url, timeout=TIMEOUT_S) as client:
                response = await client.post(
                    path, data=form, auth=(self.account_sid, self.auth_token),
                    headers={"I-Twilio-Idempotency-Token": message.key},
                )
        except httpx.HTTPError as exc:
            raise RetryableError(f"gateway unreachable: {type(exc).__name__}") from exc
        _classify(response)
        return str(response.json().get("sid", message.key))
