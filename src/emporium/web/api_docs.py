"""The API's documentation: ``/api/openapi.json`` and Swagger UI at ``/api/docs``, served from the pinned
swagger-ui-dist package (package.json) under the shop's own Content-Security-Policy, never from a CDN.

Who may read them (``EMPORIUM_API_DOCS``): unset, everyone outside production and nobody in it; false,
nobody; true, everyone outside production and, in production, staff signed in to the shop. Refused
readers get a 404, as if the docs did not exist. ``/api/redoc`` leads to ``/api/docs`` (ReDoc is not
vendored, and its page would load from a CDN).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from emporium.core.config import Settings
from emporium.core.context import Ctx
from emporium.core.errors import NotFound
from emporium.core.permissions import STAFF_ROLES
from emporium.core.session import DbSession
from emporium.web.assets import IMMUTABLE, MEDIA_TYPES, node_modules_candidates
from emporium.web.errors import PageError
from emporium.web.page import shop_page
from emporium.web.security import page_headers
from emporium.web.templating import environment

log = structlog.get_logger(__name__)

DOCS_PATH = "/api/docs"
OPENAPI_PATH = "/api/openapi.json"
ASSET_PREFIX = f"{DOCS_PATH}/assets/"
PACKAGE = Path("swagger-ui-dist")
VENDORED = ("swagger-ui.css", "swagger-ui-bundle.js")
INIT_SCRIPT = "api-docs.js"
NO_STORE = "private, no-store"


@dataclass(frozen=True)
class DocAsset:
    name: str
    body: bytes

    @property
    def fingerprinted(self) -> str:
        stem, _, suffix = self.name.rpartition(".")
        return f"{stem}.{hashlib.sha256(self.body).hexdigest()[:16]}.{suffix}"

    @property
    def url(self) -> str:
        return ASSET_PREFIX + self.fingerprinted


@lru_cache(maxsize=1)
def doc_assets() -> dict[str, DocAsset]:
    """Swagger UI's files from node_modules and the page's own starter script, read on first use (the
    bundle is 1.5 MB: a shop whose docs are off never holds it)."""
    found = {
        INIT_SCRIPT: DocAsset(
            INIT_SCRIPT, (resources.files("emporium.web") / "static" / INIT_SCRIPT).read_bytes()
        )
    }
    for name in VENDORED:
        path = next(
            (
                root / PACKAGE / name
                for root in node_modules_candidates()
                if (root / PACKAGE / name).is_file()
            ),
            None,
        )
        if path is None:
            log.warning(
                "frontend_package_missing", file=str(PACKAGE / name), fix="run `npm ci` in the project"
            )
            continue
        found[name] = DocAsset(name, path.read_bytes())
    return found


def docs_enabled(settings: Settings) -> bool:
    return settings.api_docs if settings.api_docs is not None else settings.env != "production"


async def _reader(request: Request, ctx: Ctx, session: DbSession) -> None:
    """Lets the request through to the docs, or answers 404 as if they did not exist."""
    settings = ctx.settings
    if not docs_enabled(settings):
        raise NotFound()
    if settings.env != "production":
        return
    page = await shop_page(request, ctx, session)
    if page.customer is None or page.customer.role not in STAFF_ROLES:
        raise NotFound()


Reader = Annotated[None, Depends(_reader)]
router = APIRouter(include_in_schema=False)


@router.get(OPENAPI_PATH)
async def openapi(request: Request, _: Reader) -> JSONResponse:
    app: FastAPI = request.app
    schema: dict[str, Any] = app.openapi()
    return JSONResponse(schema, headers={"Cache-Control": NO_STORE})


@router.get(DOCS_PATH, response_class=HTMLResponse)
async def docs(request: Request, ctx: Ctx, _: Reader) -> HTMLResponse:
    assets = doc_assets()
    if not all(name in assets for name in VENDORED):
        raise NotFound(
            "The API documentation viewer is not installed (run `npm ci`).", code=PageError.DOCS_NOT_INSTALLED
        )
    app: FastAPI = request.app
    html = (
        environment()
        .get_template("web/api_docs.html.j2")
        .render(
            title=f"{app.title} documentation",
            openapi_url=OPENAPI_PATH,
            css_url=assets["swagger-ui.css"].url,
            bundle_url=assets["swagger-ui-bundle.js"].url,
            init_url=assets[INIT_SCRIPT].url,
        )
    )
    headers = {**page_headers(ctx.settings), "Cache-Control": NO_STORE}
    return HTMLResponse(html, headers=headers)


@router.get(f"{ASSET_PREFIX}{{name}}")
async def doc_asset(name: str, _: Reader) -> Response:
    asset = next((a for a in doc_assets().values() if a.fingerprinted == name), None)
    if asset is None:
        raise NotFound("No such file.", code=PageError.ASSET_NOT_FOUND)
    media_type = MEDIA_TYPES.get(Path(asset.name).suffix, "application/octet-stream")
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
    return Response(asset.body, media_type=media_type, headers=headers)


@router.get("/api/redoc")
async def redoc(_: Reader) -> RedirectResponse:
    return RedirectResponse(DOCS_PATH, status_code=307)
