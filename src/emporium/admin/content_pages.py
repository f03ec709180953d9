"""``/admin/pages``: the shop's content pages (privacy policy, terms, shipping and returns, about), written in
Markdown with a preview, sanitised as product descriptions are, and served at ``/pages/<slug>``.

Everything here needs ``settings:manage``; every save is in the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.admin.settings_forms import form_errors
from emporium.audit.service import audit
from emporium.core.permissions import Permission
from emporium.store.content import PageText, content_pages
from emporium.store.profile import StoreProfile
from emporium.store.schemas import MAX_PAGE_CHARS, ContentPageIn

router = admin_router(prefix="/admin/pages")

SettingsPage = Annotated[AdminContext, AdminWith(Permission.SETTINGS_MANAGE)]
Slug = Annotated[str, Path(max_length=40, pattern=r"^[a-z0-9-]+$")]
# Twice the longest page: a longer text is refused by the schema with a message, not by the form parser.
Body = Annotated[str, Form(max_length=MAX_PAGE_CHARS * 2)]
Title = Annotated[str, Form(max_length=400)]


def _profile(page: AdminContext) -> StoreProfile:
    return StoreProfile.of(page.settings, None)


@router.get("", response_class=HTMLResponse, response_model=None)
async def page_list(page: SettingsPage) -> Response:
    saved = await content_pages.pages(page.session)
    return await page.render(
        "admin/content/list.html.j2",
        title="Pages",
        breadcrumbs=[("Pages", None)],
        pages=[(slug, title, saved.get(slug)) for slug, title in content_pages.titles().items()],
    )


async def _editor(
    page: AdminContext,
    text: PageText,
    *,
    title: str | None = None,
    body: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    shown_body = text.markdown if body is None else body
    return await page.render(
        "admin/content/edit.html.j2",
        title=text.title,
        status_code=status_code,
        breadcrumbs=[("Pages", "/admin/pages"), (text.title, None)],
        text=text,
        values={"title": text.title if title is None else title, "body": shown_body},
        preview=content_pages.preview(shown_body[:MAX_PAGE_CHARS]),
        errors=errors or {},
        max_chars=MAX_PAGE_CHARS,
        history=await audit.for_object(page.session, "content_page", text.slug, limit=10),
    )


@router.get("/{slug}", response_class=HTMLResponse, response_model=None)
async def edit_page(page: SettingsPage, slug: Slug) -> Response:
    return await _editor(page, await content_pages.page(page.session, _profile(page), slug))


@router.post("/{slug}", response_model=None)
async def save_page(page: SettingsPage, slug: Slug, title: Title = "", body: Body = "") -> Response:
    text = await content_pages.page(page.session, _profile(page), slug)
    try:
        data = ContentPageIn.model_validate({"title": title, "body": body})
    except ValidationError as exc:
        errors = form_errors(exc)
        return await _editor(page, text, title=title, body=body, errors=errors, status_code=422)
    changed = await content_pages.save(page.session, page.actor, slug, data)
    flash = f"{data.title} saved: the storefront shows it now." if changed else "Nothing changed."
    return page.redirect(f"/admin/pages/{slug}", flash=flash, flash_kind="success" if changed else "info")


@router.post("/{slug}/preview", response_class=HTMLResponse, response_model=None)
async def preview(page: SettingsPage, slug: Slug, body: Body = "") -> Response:
    """The sanitised HTML of ``body`` (htmx, as the merchant types); nothing is saved."""
    await content_pages.page(page.session, _profile(page), slug)
    return await page.fragment(
        "admin/content/_preview.html.j2", preview=content_pages.preview(body[:MAX_PAGE_CHARS])
    )
