"""The ASGI application of ``registry serve``: shared state, security headers, body limits, error responses."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from registry import __version__
from registry.app import App
from registry.errors import RegistryError
from registry.web.cli_calls import error_body, http_status
from registry.web.jobs import Jobs
from registry.web.read_cache import ReadCache
from registry.web.uploads import TooLarge, Uploads

if TYPE_CHECKING:
    from registry.plugins import Plugins

CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
SCORECARD_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"
MAX_BODY = 1 << 20  # JSON bodies
DEFAULT_MAX_UPLOAD = 2 << 30
UPLOAD_PATH = "/api/v1/uploads"


@dataclass
class ServerState:
    """What every request of one server shares."""

    app: App
    writes: bool
    uploads: Uploads
    jobs: Jobs
    cache: ReadCache


def state_of(request: Request) -> ServerState:
    """The server state of the application handling ``request``."""
    state: ServerState = request.app.state.registry
    return state


LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})


def host_name(header: bytes) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8000`` → ``::1``)."""
    text = header.decode("latin-1").strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


class _Guard:
    """Pure ASGI middleware: security headers on every response, a size limit on every non-upload body, and (when
    ``hosts`` is given) only requests addressed to those host names, so a page elsewhere cannot reach a loopback
    server through a rebound DNS name."""

    def __init__(self, app: Any, hosts: frozenset[str] | None = None) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        if self.hosts is not None and host_name(headers.get(b"host", b"")) not in self.hosts:
            await JSONResponse({"error": "InvalidInput", "message": "this server does not answer to that host name"},
                               400)(scope, receive, _secured(send))
            return
        if scope["path"] != UPLOAD_PATH and scope["method"] in ("POST", "PUT", "PATCH"):
            length = headers.get(b"content-length")
            refusal = None
            if length is None and headers.get(b"transfer-encoding"):
                refusal = (411, "a request body needs a Content-Length")
            elif length is not None and (not length.isdigit() or int(length) > MAX_BODY):
                refusal = (413, f"request bodies are limited to {MAX_BODY} bytes (uploads: {UPLOAD_PATH})")
            if refusal:
                await JSONResponse({"error": "InvalidInput", "message": refusal[1]}, refusal[0],
                                   headers={"Connection": "close"})(scope, receive, _secured(send))
                return
        await self.app(scope, receive, _secured(send))


def _secured(send: Any) -> Any:
    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            names = {k.lower() for k, _ in headers}
            if b"content-security-policy" not in names:
                headers.append((b"content-security-policy", CSP.encode()))
            headers += [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"),
                        (b"x-frame-options", b"DENY"), (b"cross-origin-opener-policy", b"same-origin")]
            message = {**message, "headers": headers}
        await send(message)
    return wrapped


def _error(request: Request, status: int, body: dict[str, str]) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse(body, status)
    from registry.web.pages import error_page

    return HTMLResponse(error_page(status, body["message"]), status)


def create_app(home: str | os.PathLike[str] | None = None, *, plugins: Plugins | None = None, writes: bool = False,
               max_upload: int = DEFAULT_MAX_UPLOAD, workers: int = 4,
               hosts: frozenset[str] | None = LOOPBACK_NAMES) -> FastAPI:
    """The web application over the registry at ``home`` (writes refused unless ``writes``; only requests
    addressed to ``hosts`` answered, None: any)."""
    from registry.web import api, pages
    from registry.web import writes as write_api

    reg = App(home, plugins=plugins)
    state = ServerState(reg, writes, Uploads(Path(reg.home) / "uploads", max_upload), Jobs(workers),
                        ReadCache(reg.home))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        state.jobs.shutdown()

    web = FastAPI(title="gated-registry", version=__version__, openapi_url="/api/v1/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=lifespan)  # no docs UI: it would load scripts from a CDN
    web.state.registry = state
    web.include_router(api.router)
    web.include_router(write_api.router)
    web.include_router(pages.router)

    @web.exception_handler(RegistryError)
    async def registry_error(request: Request, exc: RegistryError) -> Response:
        status = 413 if isinstance(exc, TooLarge) else http_status(exc)
        return _error(request, status, error_body(exc))

    @web.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(request, 400, {"error": "InvalidInput", "message": f"{where}: {first.get('msg', 'invalid')}"})

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kind = {401: "Unauthorized", 403: "Forbidden", 404: "UnknownName", 405: "MethodNotAllowed"}
        response = _error(request, exc.status_code, {"error": kind.get(exc.status_code, "HTTPError"),
                                                     "message": str(exc.detail)})
        for k, v in (exc.headers or {}).items():
            response.headers[k] = v
        return response

    web.add_middleware(_Guard, hosts=hosts)
    return web
