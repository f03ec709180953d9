"""``/robots.txt`` and the sitemaps: ``/sitemap.xml`` is an index of ``/sitemaps/pages.xml`` (home and
categories) and ``/sitemaps/products-<n>.xml`` files of at most 50,000 products each, the protocol's
limit. Product files are streamed in keyset batches from their own read-only session, so a catalog of any
size is written with a few hundred rows in memory at a time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated
from xml.sax.saxutils import escape

from fastapi import Path
from fastapi.responses import PlainTextResponse, Response, StreamingResponse

from emporium.catalog.schemas import CategoryRead
from emporium.catalog.sitemap import sitemap
from emporium.catalog.taxonomy import taxonomy
from emporium.core.context import AppContext, Ctx
from emporium.core.errors import NotFound
from emporium.core.session import DbSession
from emporium.store.content import content_pages
from emporium.web.errors import PageError
from emporium.web.routing import page_router

router = page_router()

URLS_PER_FILE = 50_000
BATCH = 500
XML = "application/xml; charset=utf-8"
# Crawlers may keep these a while; a new product shows up within the hour.
SITEMAP_CACHE = "public, max-age=3600"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
URLSET = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
INDEX = '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'


def _base(ctx: AppContext) -> str:
    return ctx.settings.public_url.rstrip("/")


def _url(loc: str, lastmod: datetime | None = None) -> str:
    when = f"<lastmod>{lastmod.date().isoformat()}</lastmod>" if lastmod else ""
    return f"<url><loc>{escape(loc)}</loc>{when}</url>\n"


@router.get("/robots.txt", response_class=PlainTextResponse)
async def robots(ctx: Ctx) -> PlainTextResponse:
    lines = [
        "User-agent: *",
        "Disallow: /account/",
        "Disallow: /cart",
        "Disallow: /checkout",
        "Disallow: /search",
        "Disallow: /api/",
        "Disallow: /pay/",
        f"Sitemap: {_base(ctx)}/sitemap.xml",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/sitemap.xml")
async def sitemap_index(ctx: Ctx, session: DbSession) -> Response:
    files = -(-await sitemap.product_count(session) // URLS_PER_FILE)
    base = _base(ctx)
    entries = [f"{base}/sitemaps/pages.xml"] + [
        f"{base}/sitemaps/products-{n}.xml" for n in range(1, files + 1)
    ]
    body = HEAD + INDEX + "".join(f"<sitemap><loc>{escape(e)}</loc></sitemap>\n" for e in entries)
    return Response(body + "</sitemapindex>\n", media_type=XML, headers={"Cache-Control": SITEMAP_CACHE})


def _walk(categories: list[CategoryRead]) -> Iterator[CategoryRead]:
    for category in categories:
        yield category
        yield from _walk(category.children)


@router.get("/sitemaps/pages.xml")
async def sitemap_pages(ctx: Ctx, session: DbSession) -> Response:
    base = _base(ctx)
    tree = await taxonomy.category_tree(session, include_inactive=False)
    body = _url(f"{base}/") + "".join(_url(f"{base}/c/{c.slug}") for c in _walk(tree))
    body += "".join(_url(f"{base}/pages/{slug}") for slug in content_pages.titles())
    return Response(
        HEAD + URLSET + body + "</urlset>\n", media_type=XML, headers={"Cache-Control": SITEMAP_CACHE}
    )


@router.get("/sitemaps/products-{number}.xml")
async def sitemap_products(ctx: Ctx, number: Annotated[int, Path(ge=1, le=100_000)]) -> Response:
    # The body is written after the route returns, when the request's session is gone: it reads through
    # a session of its own. The first statement runs here so that a file past the end is a 404.
    async with ctx.db.read_session() as session:
        first_id = await sitemap.product_id_at(session, (number - 1) * URLS_PER_FILE)
    if first_id is None:
        raise NotFound("No such sitemap.", code=PageError.SITEMAP_NOT_FOUND)
    return StreamingResponse(
        _product_urls(ctx, first_id), media_type=XML, headers={"Cache-Control": SITEMAP_CACHE}
    )


async def _product_urls(ctx: AppContext, first_id: int) -> AsyncIterator[str]:
    base = _base(ctx)
    yield HEAD + URLSET
    written, next_id = 0, first_id
    async with ctx.db.read_session() as session:
        while written < URLS_PER_FILE:
            rows = await sitemap.products_from(session, next_id, min(BATCH, URLS_PER_FILE - written))
            if not rows:
                break
            yield "".join(_url(f"{base}/p/{row.slug}", row.updated_at) for row in rows)
            written += len(rows)
            next_id = rows[-1].id + 1
    yield "</urlset>\n"
