"""Real peers for notification tests: an SMTP server (aiosmtpd) and an HTTP SMS gateway
that implements the Twilio Messages and GOV.UK Notify request contracts."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from aiosmtpd.controller import Controller


@dataclass
class Received:
    """One message as the peer received it."""

    at: float
    to: str
    key: str
    body: str


@dataclass
class SmtpSink:
    """aiosmtpd on a fixed port, which the test can stop and start again ("SMTP down")."""

    port: int
    received: list[Received] = field(default_factory=list)
    _controller: Controller | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """aiosmtpd calls this (in its own thread's loop) for each accepted message."""
        mail = message_from_bytes(envelope.content)
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(time.time(), rcpt, str(mail["Message-ID"]),
                                              str(mail.get_payload())))
        return "250 OK"

    def start(self) -> None:
        """Start listening."""
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening (connections are refused: a retryable failure)."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[Received]:
        """A copy of what arrived so far."""
        with self._lock:
            return list(self.received)


@dataclass
class SmsGateway:
    """A local HTTP server speaking Twilio's Messages API and GOV.UK Notify's SMS API."""

    account_sid: str = "AC-test"
    auth_token: str = "token-test"
    notify_secret: str = "0" * 36
    received: list[Received] = field(default_factory=list)
    down: bool = False
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Base URL of the gateway."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        """Serve in a thread on a free port."""
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                status, answer = gateway._handle(self.path, dict(self.headers), raw)
                body = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, name="sms-gateway",
                         daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def messages(self) -> list[Received]:
        """A copy of what arrived so far."""
        with self._lock:
            return list(self.received)

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 503, {"message": "down for maintenance"}
        if path == f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            if not form.get("To") or not form.get("Body"):
                return 400, {"code": 21604, "message": "To and Body are required"}
            key = headers.get("I-Twilio-Idempotency-Token", "")
            self._record(form["To"], key, form["Body"])
            return 201, {"sid": f"SM{len(self.received)}", "status": "queued"}
        if path == "/v2/notifications/sms":
            token = headers.get("Authorization", "").removeprefix("Bearer ")
            try:
                jwt.decode(token, self.notify_secret, algorithms=["HS256"])
            except jwt.PyJWTError:
                return 403, {"errors": [{"error": "AuthError"}]}
            data = json.loads(raw)
            self._record(data["phone_number"], data.get("reference", ""),
                         data["personalisation"]["message"])
            return 201, {"id": f"n-{len(self.received)}", "reference": data.get("reference")}
        return 404, {"message": "no such endpoint"}

    def _record(self, to: str, key: str, body: str) -> None:
        with self._lock:
            self.received.append(Received(time.time(), to, key, body))
