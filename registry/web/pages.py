"""Server-rendered pages (Jinja2, autoescaped, no scripts): families, versions, a version, compare, trends,
an alias's history, extracts."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from registry import __version__
from registry.naming import check_alias, check_family
from registry.svg import fmt_number
from registry.web import compare as comparing
from registry.web import views

router = APIRouter()


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("registry", "templates/web"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = fmt_number
    env.filters["seg"] = lambda s: quote(str(s), safe="@")  # one path segment
    env.globals["version"] = __version__
    return env


def render(template: str, **context: Any) -> str:
    """A page from ``templates/web`` (every value escaped unless marked safe here)."""
    return _env().get_template(template).render(**context)


def error_page(status: int, message: str) -> str:
    """The HTML shown for an error (the message escaped like everything else)."""
    return render("error.j2", title=f"Error {status}", status=status, message=message)


def _page(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(render(template, **context))


def _app(request: Request) -> Any:
    from registry.web.app import state_of

    return state_of(request).app


@router.get("/static/web.css", include_in_schema=False)
def stylesheet() -> Response:
    css = resources.files("registry").joinpath("templates/web/web.css").read_bytes()
    return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def families_page(request: Request) -> HTMLResponse:
    return _page("families.j2", title="Families", families=views.families(_app(request)))


@router.get("/families/{family}", response_class=HTMLResponse, include_in_schema=False)
def versions_page(request: Request, family: str, q: str = Query("", max_length=200),
                  alias: str = Query("", max_length=64), verdict: str = Query("", pattern="^(|pass|fail|none)$"),
                  sort: str = Query("number", pattern="^(number|created|name|created_by)$"),
                  order: str = Query("asc", pattern="^(asc|desc)$"), page: int = Query(1, ge=1)) -> HTMLResponse:
    check_family(family)
    from registry.web.app import state_of

    listing = views.version_rows(_app(request), family, q=q, alias=alias, verdict=verdict, sort=sort,
                                 descending=order == "desc", page=page, cache=state_of(request).cache)
    query = {"q": q, "alias": alias, "verdict": verdict, "sort": sort, "order": order}

    def link(**change: Any) -> str:
        return f"/families/{quote(family)}?" + urlencode({**query, **change})

    return _page("versions.j2", title=f"{family}: versions", family=family, listing=listing, query=query,
                 link=link)


@router.get("/versions/{ref}", response_class=HTMLResponse, include_in_schema=False)
def version_page(request: Request, ref: str) -> HTMLResponse:
    detail = views.version_detail(_app(request), ref)
    return _page("version.j2", title=detail["ref"], v=detail)


@router.get("/compare", response_class=HTMLResponse, include_in_schema=False)
def compare_page(request: Request, v: Annotated[list[str] | None, Query(max_length=comparing.MAX_COMPARED)] = None,
                 suite: str | None = Query(None, max_length=256)) -> HTMLResponse:
    result = comparing.compare(_app(request), v or [], suite)
    return _page("compare.j2", title="Compare " + ", ".join(x["ref"] for x in result["versions"]), c=result)


@router.get("/families/{family}/trends", response_class=HTMLResponse, include_in_schema=False)
def trends_page(request: Request, family: str, gate: str = Query("", max_length=128),
                suite: str | None = Query(None, max_length=256)) -> HTMLResponse:
    check_family(family)
    from registry.web.app import state_of

    app = _app(request)

    def build() -> str:  # the page itself is kept: a table of every version is the costly part
        return render("trends.j2", title=f"{family}: {gate or 'trends'}", t=comparing.trend(app, family, gate, suite))

    return HTMLResponse(state_of(request).cache.get(("trends page", family, gate, suite), build))


@router.get("/families/{family}/aliases/{alias}", response_class=HTMLResponse, include_in_schema=False)
def alias_page(request: Request, family: str, alias: str) -> HTMLResponse:
    check_family(family)
    check_alias(alias)
    history = views.alias_history(_app(request), family, alias)
    return _page("alias.j2", title=f"{family}@{alias}", family=family, alias=alias, h=history)


@router.get("/extracts", response_class=HTMLResponse, include_in_schema=False)
def extracts_page(request: Request) -> HTMLResponse:
    from registry.web.app import state_of

    return _page("extracts.j2", title="Extracts", x=views.extracts(_app(request), cache=state_of(request).cache))
