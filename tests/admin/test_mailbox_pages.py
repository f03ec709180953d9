"""/admin/mailbox: the development mailbox read in the back office. A mail's text is shown escaped and its
HTML only inside a sandboxed frame, served under a policy of its own; with SMTP configured the page says
mail goes there; who may read it; hostile ids and parameters refused."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.app import create_app
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, StaffClientFactory, new_staff_client
from tests.conftest import MakeContext, sign_up
from tests.support import SmtpServer, asgi_client, count_statements

HOSTILE = '<img src=x onerror="alert(1)">Lin'


@pytest.fixture
def devctx(make_context: MakeContext) -> AppContext:
    return make_context(with_smtp=False)


@pytest.fixture
async def reader(devctx: AppContext) -> AsyncIterator[StaffClient]:
    client = await new_staff_client(devctx, "support")
    yield client
    await client.aclose()


async def _mail(devctx: AppContext, email: str = "lin@example.com") -> None:
    async with asgi_client(create_app(ctx=devctx)) as http:
        await sign_up(http, email, first_name=HOSTILE)
    await devctx.jobs.run_until_idle()


def _message_links(html: str) -> list[str]:
    return re.findall(r'href="(/admin/mailbox/\d+)"', html)


async def test_a_sent_mail_is_read_with_its_html_kept_apart(devctx: AppContext, reader: StaffClient) -> None:
    await _mail(devctx)
    listing = await reader.get("/admin/mailbox")
    assert listing.status_code == 200
    assert "Development mode" in listing.text
    assert "Welcome to Emporium" in listing.text
    links = _message_links(listing.text)
    assert len(links) == 2  # welcome and verify_email
    page = await reader.get(links[-1])  # the oldest: welcome
    assert page.status_code == 200
    html = page.text
    assert "lin@example.com" in html
    assert "Welcome to Emporium" in html
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;Lin" in html  # the text part, escaped
    frame = re.search(r'<iframe class="ops-mail-frame" src="([^"]+)" sandbox ', html)
    assert frame is not None
    body = await reader.get(frame.group(1))
    assert body.status_code == 200
    policy = body.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert body.headers["x-frame-options"] == "SAMEORIGIN"
    assert HOSTILE not in body.text  # the mail's own HTML escaped the name when it was rendered
    assert "&lt;img src=x" in body.text


async def test_the_mailbox_filters_by_address_and_pages(
    devctx: AppContext, reader: StaffClient, engine: AsyncEngine
) -> None:
    await _mail(devctx, "one@example.com")
    with count_statements(engine) as few:
        assert (await reader.get("/admin/mailbox")).status_code == 200
    await _mail(devctx, "two@example.com")
    with count_statements(engine) as more:
        assert (await reader.get("/admin/mailbox")).status_code == 200
    assert len(few) == len(more) <= 5, more
    only = await reader.get("/admin/mailbox", params={"to": "ONE@example.com"})
    assert len(_message_links(only.text)) == 2
    assert "two@example.com" not in only.text
    none = await reader.get("/admin/mailbox", params={"to": "nobody@example.com"})
    assert "No mail to this address." in none.text


async def test_with_smtp_the_page_says_so(staff_client: StaffClientFactory, smtp: SmtpServer) -> None:
    support = await staff_client("support")
    page = await support.get("/admin/mailbox")
    assert page.status_code == 200
    assert f"Mail is sent by SMTP through <code>127.0.0.1:{smtp.port}</code>" in page.text
    assert "Development mode" not in page.text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/mailbox/0", 422),
        ("/admin/mailbox/abc", 422),
        ("/admin/mailbox/99999999999999999999", 422),
        ("/admin/mailbox/987654321", 404),
        ("/admin/mailbox/987654321/html", 404),
        ("/admin/mailbox?to=%00", 422),
        ("/admin/mailbox?after=%%%", 422),
        ("/admin/mailbox?after=bm90LWEtY3Vyc29y", 422),
    ],
)
async def test_hostile_ids_and_parameters_are_refused(reader: StaffClient, url: str, status: int) -> None:
    assert (await reader.get(url)).status_code == status


async def test_a_moderator_may_not_read_mail(devctx: AppContext) -> None:
    await _mail(devctx)
    moderator = await new_staff_client(devctx, "moderator")
    try:
        assert (await moderator.get("/admin/mailbox")).status_code == 403
        assert (await moderator.get("/admin/mailbox/1/html")).status_code == 403
        home = await moderator.get("/admin")
        assert 'href="/admin/mailbox"' not in home.text
    finally:
        await moderator.aclose()


async def test_sidebar_shows_each_role_its_operations_sections(staff_client: StaffClientFactory) -> None:
    sidebar = re.compile(r'class="admin-sidebar__link[^"]*" href="(/admin/(?:jobs|health|mailbox))"')
    admin = await staff_client("admin")
    assert sidebar.findall((await admin.get("/admin")).text) == [
        "/admin/jobs",
        "/admin/health",
        "/admin/mailbox",
    ]
    support = await staff_client("support")
    assert sidebar.findall((await support.get("/admin")).text) == ["/admin/mailbox"]
