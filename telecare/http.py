"""The service's HTTP side: /healthz for orchestrators and /metrics for Prometheus."""

from __future__ import annotations

import contextlib
import html
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from telecare.metrics import Metrics
from telecare.store import StoreError

_ACCEPT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width"><title>Telecare: can you go?</title></head>
<body><h1>Can you go?</h1><p>Press the button if you can go to the person now.
The monitoring centre will see that you accepted.</p>
<form method="post"><button type="submit">Yes, I am going</button></form></body></html>"""


def make_app(
    metrics: Metrics,
    is_ready: Callable[[], bool],
    accept: Callable[[str], Awaitable[str]] | None = None,
) -> Starlette:
    """Build the ASGI app."""

    async def healthz(request: Request) -> Response:
        if is_ready():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("not subscribed yet\n", status_code=503)

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    async def accept_page(request: Request) -> Response:
        # a GET only shows the question: link previews in messaging apps fetch URLs,
        # and must never accept on a person's behalf
        if request.method == "GET" or accept is None:
            return HTMLResponse(_ACCEPT_PAGE)
        try:
            what = await accept(request.path_params["token"])
        except StoreError as exc:
            return HTMLResponse(f"<p>{html.escape(str(exc))}</p>", status_code=404)
        return HTMLResponse(f"<p>Thank you. The centre can see you are going ({what}).</p>")

    return Starlette(routes=[
        Route("/healthz", healthz),
        Route("/metrics", metrics_page),
        Route("/accept/{token}", accept_page, methods=["GET", "POST"]),
    ])


class HttpServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: the service's task group owns shutdown."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave signals to the service."""
        yield


def make_server(app: Starlette, host: str, port: int) -> HttpServer:
    """Configure the HTTP server; `await server.serve()` runs it until cancelled."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    return HttpServer(config)
