"""The shop's public URL follows the port it is served on unless EMPORIUM_PUBLIC_URL names one: links,
e-mails, sitemaps and canonical URLs of `python3 make.py run` with EMPORIUM_PORT=9123 say port 9123."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import httpx
import pytest

from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.core.processes import EMPORIUM, background, output_of, process_env
from tests.support import free_port


@pytest.fixture
def _no_shop_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("EMPORIUM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file either


@pytest.mark.usefixtures("_no_shop_environment")
def test_the_public_url_follows_the_port_unless_it_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert AppSettings().public_url == "http://127.0.0.1:8000"
    monkeypatch.setenv("EMPORIUM_PORT", "9123")
    assert AppSettings().public_url == "http://127.0.0.1:9123"
    monkeypatch.setenv("EMPORIUM_PUBLIC_URL", "https://shop.example.com")
    assert AppSettings().public_url == "https://shop.example.com"
    # Set to the default's very value, it is still the one the operator chose.
    monkeypatch.setenv("EMPORIUM_PUBLIC_URL", "http://127.0.0.1:8000")
    assert AppSettings().public_url == "http://127.0.0.1:8000"


@pytest.mark.usefixtures("_no_shop_environment")
def test_a_port_out_of_range_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPORIUM_PORT", "70000")
    with pytest.raises(ValueError, match="port"):
        AppSettings()


async def _wait_until_up(http: httpx.AsyncClient, base: str, cwd: Path) -> None:
    for _ in range(300):  # up to a minute on two busy cores
        try:
            if (await http.get(f"{base}/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(output_of(cwd))


async def test_a_shop_served_on_emporium_port_names_that_port(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    """What `make.py run` does: EMPORIUM_PORT set, EMPORIUM_PUBLIC_URL not."""
    ctx = make_committed_context()
    port = free_port()
    env = process_env(ctx.settings, EMPORIUM_PORT=str(port))
    del env["EMPORIUM_PUBLIC_URL"]
    base = f"http://127.0.0.1:{port}"
    async with background([EMPORIUM, "serve"], env, tmp_path), httpx.AsyncClient(timeout=30) as http:
        await _wait_until_up(http, base, tmp_path)
        home = await http.get(f"{base}/")
        assert re.search(rf'<link rel="canonical" href="{re.escape(base)}/">', home.text), home.text[:2000]
        assert f"Sitemap: {base}/sitemap.xml" in (await http.get(f"{base}/robots.txt")).text
        assert f"<loc>{base}/sitemaps/pages.xml</loc>" in (await http.get(f"{base}/sitemap.xml")).text
        assert "http://127.0.0.1:8000" not in home.text
    assert f"is starting on http://127.0.0.1:{port}" in output_of(tmp_path)
