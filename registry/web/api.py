"""``/api/v1`` reads: exactly what ``registry … --json`` prints, at resource-style paths; and job polling."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from registry.web.cli_calls import run_command

router = APIRouter(prefix="/api/v1")


def _state(request: Request) -> Any:
    from registry.web.app import state_of

    return state_of(request)


def _json(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status)


def _read(request: Request, command: str, *positionals: str) -> Response:
    """``registry COMMAND POSITIONALS --json`` as a JSON response, reused while the catalog is unchanged."""
    state = _state(request)

    def build() -> bytes:
        return bytes(JSONResponse(run_command(state.app, command, positionals=positionals).body).body)

    return Response(state.cache.get(("json", command, positionals), build), media_type="application/json")


# ------------------------------------------------------------------------------------------------ reads
@router.get("/plugins", summary="= registry plugins --json")
def plugins(request: Request) -> Response:
    return _read(request, "plugins")


@router.get("/versions", summary="= registry list --json")
def all_versions(request: Request) -> Response:
    return _read(request, "list")


@router.get("/families/{family}/versions", summary="= registry list FAMILY --json")
def versions(request: Request, family: str) -> Response:
    return _read(request, "list", family)


@router.get("/versions/{ref}", summary="= registry show REF --json")
def show(request: Request, ref: str) -> Response:
    return _read(request, "show", ref)


@router.get("/families/{family}/history", summary="= registry history FAMILY --json")
def family_history(request: Request, family: str) -> Response:
    return _read(request, "history", family)


@router.get("/families/{family}/aliases/{alias}/history", summary="= registry history FAMILY ALIAS --json")
def alias_history(request: Request, family: str, alias: str) -> Response:
    return _read(request, "history", family, alias)


@router.get("/ledger/verify", summary="= registry verify-ledger --json")
def verify_ledger(request: Request) -> Response:
    return _read(request, "verify-ledger")


@router.get("/ledger/head", summary="= registry ledger head --json")
def ledger_head(request: Request) -> Response:
    return _read(request, "ledger head")


@router.get("/policies", summary="= registry policy show --json")
def policies(request: Request) -> Response:
    return _read(request, "policy show")


@router.get("/families/{family}/policies", summary="= registry policy show FAMILY --json")
def family_policies(request: Request, family: str) -> Response:
    return _read(request, "policy show", family)


@router.get("/extracts", summary="= registry extracts --json")
def extracts(request: Request) -> JSONResponse:  # not cached: the extract cache lives outside the catalog
    return _json(run_command(_state(request).app, "extracts").body)


@router.get("/datasets", summary="= registry datasets --json")
def datasets(request: Request) -> JSONResponse:  # not cached: datasets live outside the catalog
    return _json(run_command(_state(request).app, "datasets").body)


@router.get("/ensembles", summary="= registry ensembles --json")
def ensembles(request: Request) -> JSONResponse:  # not cached: ensembles live outside the catalog
    return _json(run_command(_state(request).app, "ensembles").body)


@router.get("/versions/{ref}/scorecard", response_class=HTMLResponse,
            summary="the stored run's scorecard: the same bytes `registry scorecard` writes")
def scorecard(request: Request, ref: str, evidence: str | None = Query(None, max_length=64)) -> Response:
    from registry.web.app import SCORECARD_CSP
    from registry.web.views import scorecard_html

    html = scorecard_html(_state(request).app.store, ref, evidence)
    return Response(html.encode("utf-8"), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": SCORECARD_CSP})


@router.get("/jobs/{job_id}", summary="a submitted write's state and, once done, its result")
def job(request: Request, job_id: str) -> JSONResponse:
    found = _state(request).jobs.get(job_id)
    if found is None:
        raise HTTPException(404, f"no job {job_id[:40]!r} on this server")
    return _json(found.to_dict())
