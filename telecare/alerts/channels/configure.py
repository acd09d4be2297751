"""Build the channels the settings ask for."""

from __future__ import annotations

from telecare.alerts.channels import Channel
from telecare.alerts.channels.filesink import FileSink
from telecare.alerts.channels.sms import NotifySms, TwilioSms
from telecare.alerts.channels.smtp import SmtpEmail
from telecare.config import ConfigError, Settings


def build_channels(settings: Settings) -> dict[str, Channel]:
    """Return {"sms": ..., "email": ...} per `sms_gateway` and `email_transport`."""
    channels: dict[str, Channel] = {}
    try:
        match settings.sms_gateway:
            case "file":
                channels["sms"] = FileSink("sms", settings.data_dir / "sms-outbox.jsonl")
            case "notify":
                channels["sms"] = NotifySms(settings.gov_notify)
            case "twilio":
                channels["sms"] = TwilioSms(settings.twilio)
            case other:
                raise ConfigError(f"sms_gateway must be file, notify or twilio, not {other!r}")
        match settings.email_transport:
            case "file":
                channels["email"] = FileSink("email", settings.data_dir / "email-outbox.jsonl")
            case "smtp":
                channels["email"] = SmtpEmail(settings.smtp)
            case other:
                raise ConfigError(f"email_transport must be file or smtp, not {other!r}")
    except KeyError as exc:
        raise ConfigError(f"missing setting {exc} for the configured channel") from exc
    return channels
