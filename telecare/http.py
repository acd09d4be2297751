"""The service's HTTP side: /healthz for orchestrators and /metrics for Prometheus."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from telecare.metrics import Metrics


def make_app(metrics: Metrics, is_ready: Callable[[], bool]) -> Starlette:
    """Build the ASGI app."""

    async def healthz(request: Request) -> Response:
        if is_ready():
            return PlainTextResponse("ok\n")
        return PlainTextResponse("not subscribed yet\n", status_code=503)

    async def metrics_page(request: Request) -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    return Starlette(routes=[Route("/healthz", healthz), Route("/metrics", metrics_page)])


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
