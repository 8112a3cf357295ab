"""``/api/v1`` writes: streamed uploads, register, promote and rollback, each behind a scoped token, run as jobs."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from registry.errors import InvalidInput
from registry.naming import check_alias, check_family, parse_ref
from registry.web.cli_calls import option, run_command
from registry.web.tokens import Token, authenticate
from registry.web.uploads import FILENAME

router = APIRouter(prefix="/api/v1")


def _state(request: Request) -> Any:
    from registry.web.app import state_of

    return state_of(request)


def _writer(request: Request) -> Token:
    """The live token of a write request; 403 when writes are off, 401 for a missing, wrong or revoked token."""
    state = _state(request)
    if not state.writes:
        raise HTTPException(403, "this server is read-only (start it with `registry serve --allow-writes`)")
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    token = authenticate(state.app.store, secret.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise HTTPException(401, "a valid, unrevoked token is needed (Authorization: Bearer …)",
                            headers={"WWW-Authenticate": "Bearer"})
    return token


def _scope(token: Token, family: str, alias: str | None = None) -> None:
    ok = token.allows_family(family) if alias is None else token.allows_alias(family, alias)
    if not ok:
        what = f"{family}@{alias}" if alias else f"family {family}"
        raise HTTPException(403, f"token {token.name!r} is not scoped to {what}")


@router.post("/uploads", status_code=201, summary="stream one file (raw body); returns its id, size and sha256")
async def upload(request: Request) -> JSONResponse:
    token = await run_in_threadpool(_writer, request)  # reads the catalog: never on the event loop
    length = request.headers.get("content-length")
    if length is not None and not length.isdigit():
        raise InvalidInput("Content-Length is not a number")
    try:
        staged = await _state(request).uploads.receive(request.stream(), int(length) if length else None)
    except ClientDisconnect:
        raise InvalidInput("upload truncated: the client went away before the body ended") from None
    return JSONResponse({**staged.__dict__, "token": token.name}, 201)


class FileUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upload_id: str = Field(max_length=64)
    filename: str = Field(max_length=128)


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: dict[str, FileUpload]
    name: str = Field("", max_length=200)
    code_version: str = Field("", max_length=200)
    extracts: list[str] = Field(default_factory=list, max_length=50)


@router.post("/families/{family}/versions", summary="= registry register FAMILY ROLE=FILE … --json (uploaded files)")
async def register(request: Request, family: str, body: RegisterBody,
                   wait: float = Query(60.0, ge=0, le=600)) -> JSONResponse:
    token = await run_in_threadpool(_writer, request)  # reads the catalog: never on the event loop
    _scope(token, check_family(family))
    state = _state(request)
    staged = {}
    for role, item in sorted(body.files.items()):
        if not FILENAME.match(item.filename) or not FILENAME.match(role):
            raise InvalidInput(f"file name {item.filename[:80]!r} for role {role[:40]!r} is not allowed "
                               "(letters, digits, '.', '-', '_')")
        staged[role] = (state.uploads.path(item.upload_id), item.filename)

    def work() -> tuple[int, int, Any]:
        with tempfile.TemporaryDirectory(prefix="registry-web-register-") as tmp:
            args = []
            for role, (data, filename) in staged.items():  # the family sees each file under its own name
                (Path(tmp) / role).mkdir()
                (Path(tmp) / role / filename).symlink_to(data)
                args.append(f"{role}={Path(tmp) / role / filename}")
            result = run_command(state.app, "register", *option("name", body.name or None),
                                 *option("code-version", body.code_version or None),
                                 *(f"--extract={name}" for name in body.extracts), positionals=(family, *args))
        for item in body.files.values():
            state.uploads.discard(item.upload_id)
        return (201 if result.body.get("created") else 200), result.exit_code, result.body

    return await _answer(state.jobs.submit("register", token.name, work), wait)


class PromoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=64)
    expect_current: str | None = Field(None, max_length=64)
    dry_run: bool = False
    force: bool = False
    reason: str = Field("", max_length=2000)
    suite: str | None = Field(None, max_length=256)  # NAME[option=value,…] with a few options
    seed: int | None = Field(None, ge=0, le=2**63 - 1)
    create_alias: bool = False


@router.post("/versions/{ref}/promote", summary="= registry promote REF --to ALIAS … --json, as a job")
async def promote(request: Request, ref: str, body: PromoteBody,
                  wait: float = Query(30.0, ge=0, le=600)) -> JSONResponse:
    token = await run_in_threadpool(_writer, request)  # reads the catalog: never on the event loop
    check_alias(body.to)
    _scope(token, parse_ref(ref).family, body.to)
    state = _state(request)

    def work() -> tuple[int, int, Any]:
        result = run_command(state.app, "promote", f"--to={body.to}", *option("expect-current", body.expect_current),
                             *option("dry-run", body.dry_run), *option("force", body.force),
                             *option("reason", body.reason or None), *option("suite", body.suite),
                             *option("seed", body.seed), *option("create-alias", body.create_alias),
                             positionals=(ref,))
        return (200 if result.exit_code == 0 else 409), result.exit_code, result.body

    job = state.jobs.submit("promote", token.name, work)
    return await _answer(job, wait)


class RollbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=2000)
    allow_unset: bool = False


@router.post("/families/{family}/aliases/{alias}/rollback", summary="= registry rollback FAMILY ALIAS --json")
async def rollback(request: Request, family: str, alias: str, body: RollbackBody,
                   wait: float = Query(30.0, ge=0, le=600)) -> JSONResponse:
    token = await run_in_threadpool(_writer, request)  # reads the catalog: never on the event loop
    _scope(token, check_family(family), check_alias(alias))
    state = _state(request)

    def work() -> tuple[int, int, Any]:
        result = run_command(state.app, "rollback", *option("reason", body.reason or None),
                             *option("allow-unset", body.allow_unset), positionals=(family, alias))
        return 200, result.exit_code, result.body

    return await _answer(state.jobs.submit("rollback", token.name, work), wait)


async def _answer(job: Any, wait: float) -> JSONResponse:
    """The job's result if it finishes within ``wait`` seconds, else 202 with its id to poll."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while not job.finished.is_set() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    headers = {"X-Job-Id": job.job_id, "Location": f"/api/v1/jobs/{job.job_id}"}
    if not job.finished.is_set():
        return JSONResponse(job.to_dict(), 202, headers=headers)
    return JSONResponse(job.result, job.status or 500, headers=headers)
