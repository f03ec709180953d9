"""``/admin/products/new`` and ``/admin/products/{id}``: a product's details (name, slug, Markdown description
with a live preview, category, brand, tags, search-result title and description with a live preview,
status, featured flag). A new product gets its first variant (SKU, price, stock in a pool of its own) as the
API's create does, so it can be sold once published; its other variants, stock and images are on the next
tabs.

The previews are htmx posts answered with a fragment: the description as the shop will show it (sanitised by
the catalog, the same function as on save) and the search result. Every save writes an audit entry with
the fields it changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.products.choices import brand_choices, category_choices
from emporium.admin.products.form import DetailsForm, parse_create, parse_update
from emporium.admin.routing import admin_router
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit, diff
from emporium.catalog.sanitize import sanitize_description
from emporium.catalog.service import catalog
from emporium.core.errors import EmporiumError, ValidationFailed
from emporium.core.params import IdPath
from emporium.core.permissions import Permission

if TYPE_CHECKING:
    from emporium.catalog.models import Product

router = admin_router(prefix="/admin/products")

ProductsPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
Line = Annotated[str, Form(max_length=1000)]
LongText = Annotated[str, Form(max_length=60_000)]
Format = Annotated[str, Form(pattern=r"^(markdown|html)$")]
# What a search result shows before cutting the text short (about; each engine has its own).
SEO_TITLE_SHOWN = 60
SEO_DESCRIPTION_SHOWN = 160
_ERROR_STATUS = (400, 404, 409, 422)


def _message(exc: EmporiumError) -> str:
    details = "; ".join(str(d.get("message")) for d in exc.details if d.get("message"))
    if exc.message == ValidationFailed.message and details:
        return details
    return exc.message


def _values(product: Product, tags: list[str]) -> dict[str, str]:
    written = product.description_source
    return dict.fromkeys(_FORM_FIELDS, "") | {
        "name": product.name,
        "slug": product.slug,
        "description": written if written is not None else product.description_html,
        "description_format": product.description_format or ("markdown" if written is not None else "html"),
        "category_id": str(product.category_id or ""),
        "brand_id": str(product.brand_id or ""),
        "tags": ", ".join(tags),
        "seo_title": product.seo_title or "",
        "seo_description": product.seo_description or "",
        "status": product.status,
        "featured": "yes" if product.is_featured else "",
    }


def _audited(values: dict[str, str]) -> dict[str, object]:
    return {
        "name": values["name"],
        "slug": values["slug"],
        "description": values["description"],
        "category_id": values["category_id"] or None,
        "brand_id": values["brand_id"] or None,
        "tags": values["tags"],
        "seo_title": values["seo_title"] or None,
        "seo_description": values["seo_description"] or None,
        "status": values["status"],
        "is_featured": values["featured"] == "yes",
    }


async def _render(
    page: AdminContext,
    form: DetailsForm,
    *,
    product: Product | None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    title = product.name if product is not None else "New product"
    return await page.render(
        "admin/products/editor.html.j2",
        title=title,
        breadcrumbs=[("Products", "/admin/products"), (title, None)],
        status_code=status_code,
        product=product,
        values=form.values,
        errors=form.errors,
        error=error,
        categories=await category_choices(page.session),
        brands=await brand_choices(page.session),
        currency=page.settings.currency,
        description_html=Markup(  # noqa: S704 - sanitised by the catalog (nh3)
            sanitize_description(form.values.get("description", ""), _format(form.values))
        ),
        seo=_seo(page, form.values),
    )


def _format(values: dict[str, str]) -> Any:
    return "html" if values.get("description_format") == "html" else "markdown"


def _seo(page: AdminContext, values: dict[str, str]) -> dict[str, str]:
    """The search result the product's page will give: its title, address and description."""
    name = values.get("name", "").strip() or "Product name"
    title = f"{values.get('seo_title', '').strip() or name} · {page.settings.shop_name}"
    description = values.get("seo_description", "").strip() or f"{name} at {page.settings.shop_name}."
    slug = values.get("slug", "").strip() or "product-slug"

    def cut(text: str, size: int) -> str:
        return text if len(text) <= size else text[: size - 1].rstrip() + "…"

    return {
        "title": cut(title, SEO_TITLE_SHOWN),
        "url": f"{page.settings.public_url.rstrip('/')}/p/{slug}",
        "description": cut(description, SEO_DESCRIPTION_SHOWN),
        "title_length": str(len(title)),
        "description_length": str(len(description)),
    }


_FORM_FIELDS = (
    "name",
    "slug",
    "description",
    "description_format",
    "category_id",
    "brand_id",
    "tags",
    "seo_title",
    "seo_description",
    "status",
    "featured",
    "sku",
    "price",
    "compare_at_price",
    "on_hand",
)


async def _read_form(page: AdminContext) -> DetailsForm:
    sent = await page.request.form()
    values = {}
    for name in _FORM_FIELDS:
        value = sent.get(name)
        values[name] = value if isinstance(value, str) else ""
    return DetailsForm(values=values)


@router.get("/new", response_class=HTMLResponse, response_model=None)
async def new_product(page: ProductsPage) -> Response:
    blank = dict.fromkeys(_FORM_FIELDS, "")
    form = DetailsForm(values=blank | {"status": "draft", "description_format": "markdown", "on_hand": "0"})
    return await _render(page, form, product=None)


@router.post("/new", response_model=None)
async def create_product(page: ProductsPage) -> Response:
    form = await _read_form(page)
    data = parse_create(form)
    if data is None:
        return await _render(page, form, product=None, error=form.summary(), status_code=422)
    try:
        async with page.session.begin_nested():
            created = await catalog.create_product(page.session, page.ctx, data, page.staff.id)
            audit.record(
                page.session,
                page.actor,
                "product.created",
                AuditedObject(type="product", id=created.id, label=created.name),
                {
                    "name": (None, created.name),
                    "slug": (None, created.slug),
                    "status": (None, created.status),
                    "sku": (None, created.variants[0].sku),
                    "price": (None, created.variants[0].price),
                },
            )
    except EmporiumError as exc:
        if exc.status_code not in _ERROR_STATUS:
            raise
        return await _render(page, form, product=None, error=_message(exc), status_code=exc.status_code)
    return page.redirect(
        f"/admin/products/{created.id}",
        flash=f"“{created.name}” is created. Add its other variants and stock on the Variants tab.",
    )


@router.post("/description-preview", response_class=HTMLResponse, response_model=None)
async def description_preview(
    page: ProductsPage, description: LongText = "", description_format: Format = "markdown"
) -> Response:
    """The description as the shop will show it, sanitised as on save."""
    html = sanitize_description(description[:50_000], "html" if description_format == "html" else "markdown")
    return await page.fragment(
        "admin/products/_description_preview.html.j2",
        description_html=Markup(html),  # noqa: S704 - sanitised by the catalog (nh3)
    )


@router.post("/seo-preview", response_class=HTMLResponse, response_model=None)
async def seo_preview(
    page: ProductsPage,
    name: Line = "",
    slug: Line = "",
    seo_title: Line = "",
    seo_description: Line = "",
) -> Response:
    values = {"name": name, "slug": slug, "seo_title": seo_title, "seo_description": seo_description}
    return await page.fragment("admin/products/_seo_preview.html.j2", seo=_seo(page, values))


@router.get("/{product_id}", response_class=HTMLResponse, response_model=None)
async def product_details(page: ProductsPage, product_id: IdPath) -> Response:
    product, tags = await catalog.product_for_editing(page.session, product_id)
    return await _render(page, DetailsForm(values=_values(product, tags)), product=product)


@router.post("/{product_id}", response_model=None)
async def save_details(page: ProductsPage, product_id: IdPath) -> Response:
    product, tags = await catalog.product_for_editing(page.session, product_id)
    before = _audited(_values(product, tags))
    form = await _read_form(page)
    data = parse_update(form)
    if data is None:
        return await _render(page, form, product=product, error=form.summary(), status_code=422)
    try:
        async with page.session.begin_nested():
            await catalog.update_product(page.session, page.ctx, product_id, data, partial=False)
            product, tags = await catalog.product_for_editing(page.session, product_id)
            changes = diff(before, _audited(_values(product, tags)))
            if changes:
                audit.record(
                    page.session,
                    page.actor,
                    "product.updated",
                    AuditedObject(type="product", id=product.id, label=product.name),
                    changes,
                )
    except EmporiumError as exc:
        if exc.status_code not in _ERROR_STATUS:
            raise
        product, _ = await catalog.product_for_editing(page.session, product_id)
        return await _render(page, form, product=product, error=_message(exc), status_code=exc.status_code)
    return page.redirect(f"/admin/products/{product_id}", flash="Saved.")
