"""Static files: fingerprinted URLs cached for a year, nothing served under any other name."""

from __future__ import annotations

import hashlib
import re

import httpx

from emporium.web.assets import shop_assets


async def test_assets_are_fingerprinted_and_immutable(client: httpx.AsyncClient) -> None:
    html = (await client.get("/")).text
    css_url = re.search(r'href="(/static/shop\.[0-9a-f]{16}\.css)"', html)
    js_url = re.search(r'src="(/static/htmx\.min\.[0-9a-f]{16}\.js)"', html)
    assert css_url, html[:2000]
    assert js_url, html[:2000]
    for url, media_type in ((css_url.group(1), "text/css"), (js_url.group(1), "text/javascript")):
        response = await client.get(url)
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"].startswith(media_type)
        assert response.headers["x-content-type-options"] == "nosniff"
        digest = hashlib.sha256(response.content).hexdigest()
        assert url.split(".")[-2] == digest[:16]


async def test_the_vendored_htmx_is_the_installed_package(client: httpx.AsyncClient) -> None:
    url = shop_assets().url("htmx.min.js")
    assert url is not None
    body = (await client.get(url)).content
    assert b"htmx" in body
    assert len(body) > 10_000


async def test_unknown_or_stale_asset_names_are_404(client: httpx.AsyncClient) -> None:
    current = shop_assets().url("shop.css")
    assert current is not None
    stale = re.sub(r"\.[0-9a-f]{16}\.", ".0123456789abcdef.", current)
    for path in (stale, "/static/shop.css", "/static/nothing.js", "/static/..%2Fsettings.py"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert "immutable" not in response.headers.get("cache-control", "")
