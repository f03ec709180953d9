"""Content pages: a default text for each until the merchant saves their own at /admin/pages; what they save
is sanitised as product descriptions are and shown at /pages/<slug>, linked from every page's footer."""

from __future__ import annotations

import httpx
import pytest

from emporium.audit.service import audit
from emporium.core.context import AppContext
from emporium.store.content import PAGES
from tests.admin.conftest import StaffClient, StaffClientFactory, csrf_of

HOSTILE_MARKDOWN = """## Your data with us

We keep **little**.

<script>alert('x')</script>
<img src=x onerror="alert(1)">
[Click](javascript:alert(1)) and [our account page](/account/privacy).
"""


async def save(owner: StaffClient, slug: str, **values: str) -> httpx.Response:
    page = await owner.get(f"/admin/pages/{slug}")
    assert page.status_code == 200
    return await owner.post(f"/admin/pages/{slug}", data={"csrf_token": csrf_of(page.text), **values})


async def test_every_page_has_a_default_text_linked_from_the_footer(client: httpx.AsyncClient) -> None:
    home = (await client.get("/")).text
    for slug, title in PAGES.items():
        assert f'<a href="/pages/{slug}">{title}</a>' in home
        page = await client.get(f"/pages/{slug}")
        assert page.status_code == 200
        assert f"<h1>{title}</h1>" in page.text
        assert "{shop}" not in page.text
        assert "{contact}" not in page.text
    privacy = (await client.get("/pages/privacy")).text
    # Seed 004's privacy requirements: access, deletion, portability, GDPR and CCPA.
    for expected in ("GDPR", "CCPA", "access", "erasure", "data portability", 'href="/account/privacy"'):
        assert expected in privacy


@pytest.mark.parametrize("slug", ["unknown", "privacy-old", "PRIVACY", "privacy%00"])
async def test_an_unknown_page_is_a_404(
    client: httpx.AsyncClient, staff_client: StaffClientFactory, slug: str
) -> None:
    assert (await client.get(f"/pages/{slug}")).status_code == 404
    owner = await staff_client("super_admin")
    assert (await owner.get(f"/admin/pages/{slug}")).status_code in (404, 422)


async def test_an_edited_page_shows_on_the_storefront_sanitised(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    saved = await save(owner, "privacy", title="How we treat your data", body=HOSTILE_MARKDOWN)
    assert saved.status_code == 303, saved.text
    html = (await client.get("/pages/privacy")).text
    page = html.split('<article class="content-page">')[1].split("</article>")[0]
    assert "<h1>How we treat your data</h1>" in page
    assert "<h2>Your data with us</h2>" in page
    assert "<strong>little</strong>" in page
    assert '<a href="/account/privacy" rel="noopener nofollow">our account page</a>' in page
    # Raw HTML is text, never markup; a javascript: link stays text.
    for hostile in ("<script", "<img", 'href="javascript:'):
        assert hostile not in page
    assert "&lt;script&gt;" in page
    assert "Last updated" in page

    editor = (await owner.get("/admin/pages/privacy")).text
    assert "<script>alert" not in editor.split("<textarea")[0]
    listing = (await owner.get("/admin/pages")).text
    assert "How we treat your data" in listing
    async with ctx.db.session() as session:
        [entry] = await audit.for_object(session, "content_page", "privacy")
    assert entry.action == "content_page.updated"
    assert entry.changes["title"] == [None, "How we treat your data"]


async def test_the_preview_is_sanitised_and_saves_nothing(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory
) -> None:
    owner = await staff_client("super_admin")
    editor = await owner.get("/admin/pages/about")
    preview = await owner.post(
        "/admin/pages/about/preview",
        data={"body": HOSTILE_MARKDOWN},
        headers={"X-CSRF-Token": csrf_of(editor.text), "HX-Request": "true"},
    )
    assert preview.status_code == 200
    assert "<h2>Your data with us</h2>" in preview.text
    assert "<script" not in preview.text
    assert 'href="javascript:' not in preview.text
    assert "Your data with us" not in (await client.get("/pages/about")).text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"title": "", "body": "Some text."}, "title"),
        ({"title": "About", "body": ""}, "body"),
        ({"title": "About", "body": "x" * 100_001}, "Use at most 100000 characters."),
        ({"title": "<b>About</b>", "body": "Text."}, "no &lt; or &gt;"),
        ({"title": "About", "body": "bad\x00byte"}, "body"),
    ],
    ids=["no-title", "no-text", "huge", "html-title", "nul"],
)
async def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client: httpx.AsyncClient,
    ctx: AppContext,
    staff_client: StaffClientFactory,
    values: dict[str, str],
    message: str,
) -> None:
    owner = await staff_client("super_admin")
    refused = await save(owner, "terms", **values)
    assert refused.status_code == 422, refused.text
    assert "Nothing was saved" in refused.text
    assert message in refused.text
    assert "<b>About</b>" not in refused.text
    assert "<h1>Terms and conditions</h1>" in (await client.get("/pages/terms")).text
    async with ctx.db.session() as session:
        assert await audit.for_object(session, "content_page", "terms") == []
