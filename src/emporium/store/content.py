"""The shop's content pages: privacy policy, terms, shipping and returns, about.

Each page has a stable address (``/pages/<slug>``) and a default text written for any shop
(store/defaults/<slug>.md), shown until the merchant saves their own. The Markdown is rendered and
sanitised when saved (core/sanitize.py, the rules of product descriptions), so a page is served as stored.
The default texts name the shop and its contact address from the store's profile when shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.core.errors import NotFound
from emporium.core.sanitize import sanitize_markdown
from emporium.store.models import ContentPage
from emporium.store.profile import StoreProfile
from emporium.store.repository import StoreRepository
from emporium.store.schemas import ContentPageIn

# slug: default title, in the order the footer and the back office list them.
PAGES: dict[str, str] = {
    "privacy": "Privacy policy",
    "terms": "Terms and conditions",
    "shipping-returns": "Shipping and returns",
    "about": "About us",
}


@dataclass(frozen=True)
class PageText:
    slug: str
    title: str
    markdown: str
    html: str
    # None: the default text, never saved.
    updated_at: datetime | None


@cache
def _default_markdown(slug: str) -> str:
    return resources.files("emporium.store").joinpath("defaults", f"{slug}.md").read_text("utf-8")


def default_text(slug: str, profile: StoreProfile) -> str:
    """The page's default Markdown, naming the shop and where to write to it."""
    contact = (
        f"[{profile.contact_email}](mailto:{profile.contact_email})"
        if profile.contact_email
        else "the contact address given on this site"
    )
    return _default_markdown(slug).replace("{shop}", profile.name).replace("{contact}", contact)


def _known(slug: str) -> str:
    if slug not in PAGES:
        raise NotFound("No such page.")
    return slug


class ContentPages:
    def titles(self) -> dict[str, str]:
        return dict(PAGES)

    async def page(self, session: AsyncSession, profile: StoreProfile, slug: str) -> PageText:
        """The saved page, or its default text; NotFound for a slug that is no page."""
        row = await StoreRepository(session).page(_known(slug))
        if row is not None:
            return PageText(slug, row.title, row.body_markdown, row.body_html, row.updated_at)
        markdown = default_text(slug, profile)
        return PageText(slug, PAGES[slug], markdown, sanitize_markdown(markdown), None)

    async def pages(self, session: AsyncSession) -> dict[str, ContentPage]:
        return {row.slug: row for row in await StoreRepository(session).pages()}

    def preview(self, body: str) -> str:
        return sanitize_markdown(body)

    async def save(self, session: AsyncSession, actor: Actor, slug: str, data: ContentPageIn) -> bool:
        """Store the page's title and text; False when neither changed."""
        repo = StoreRepository(session)
        row = await repo.page(_known(slug))
        html = sanitize_markdown(data.body)
        if row is not None and row.title == data.title and row.body_markdown == data.body:
            return False
        changes: dict[str, tuple[object, object]] = {}
        if row is None:
            row = ContentPage(slug=slug)
            repo.add_page(row)
            changes["text"] = ("default", f"{len(data.body)} characters")
        else:
            if row.body_markdown != data.body:
                changes["text"] = (f"{len(row.body_markdown)} characters", f"{len(data.body)} characters")
        if row.title != data.title:
            changes["title"] = (row.title, data.title)
        row.title, row.body_markdown, row.body_html = data.title, data.body, html
        audit.record(
            session, actor, "content_page.updated", AuditedObject("content_page", slug, data.title), changes
        )
        await repo.flush()
        return True


content_pages = ContentPages()
