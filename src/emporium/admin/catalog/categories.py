"""``/admin/categories``: the category tree. Add a category, rename it, change its slug and description,
move it under another parent (never under itself or one of its descendants: catalog/taxonomy.py refuses the
cycle), move it up or down among its siblings (plain forms, no script needed), hide or show it.

Every change is audited with its old and new values; the catalog's cached pages follow by themselves (a
commit that writes ``categories`` changes the catalog cache stamp, catalog/cache.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit, diff
from emporium.catalog.schemas import CategoryIn, CategoryRead
from emporium.catalog.taxonomy import taxonomy
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/categories")

CategoriesPage = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
Text = Annotated[str, Form(max_length=200)]
LongText = Annotated[str, Form(max_length=5000)]
ParentField = Annotated[str, Form(max_length=19, pattern=r"^([1-9][0-9]{0,18})?$")]
AUDITED = ("name", "slug", "description", "parent_id", "is_active", "position")
FIELD_NAMES = {"name": "Name", "slug": "Slug", "description": "Description", "parent_id": "Parent"}


def flatten(tree: list[CategoryRead], depth: int = 0) -> list[tuple[CategoryRead, int]]:
    rows: list[tuple[CategoryRead, int]] = []
    for node in tree:
        rows.append((node, depth))
        rows += flatten(node.children, depth + 1)
    return rows


def _state(category: CategoryRead) -> dict[str, object]:
    return {name: getattr(category, name) for name in AUDITED}


def _record(page: AdminContext, action: str, before: CategoryRead | None, after: CategoryRead) -> None:
    changes = diff(_state(before) if before else {}, _state(after))
    audit.record(page.session, page.actor, action, AuditedObject("category", after.id, after.name), changes)


def form_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else "form"
        errors.setdefault(
            field, f"{FIELD_NAMES.get(field, field)}: {str(err['msg']).removeprefix('Value error, ')}"
        )
    return errors


def _category_in(values: dict[str, Any]) -> CategoryIn:
    return CategoryIn.model_validate(
        {
            "name": values["name"],
            "slug": values["slug"] or None,
            "description": values["description"] or None,
            "parent_id": int(values["parent_id"]) if values["parent_id"] else None,
            "position": values.get("position", 0),
            "is_active": values.get("is_active", True),
        }
    )


async def _tree_page(
    page: AdminContext,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    tree = await taxonomy.category_tree(page.session, include_inactive=True)
    return await page.render(
        "admin/catalog/categories.html.j2",
        title="Categories",
        status_code=status_code,
        breadcrumbs=[("Categories", None)],
        rows=flatten(tree),
        tree=tree,
        counts=await taxonomy.product_counts_by_category(page.session),
        error=error,
        errors=errors or {},
        values=values or {"name": "", "slug": "", "description": "", "parent_id": ""},
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def category_tree(page: CategoriesPage) -> Response:
    return await _tree_page(page)


@router.post("", response_model=None)
async def add_category(
    page: CategoriesPage,
    name: Text = "",
    slug: Text = "",
    description: LongText = "",
    parent_id: ParentField = "",
) -> Response:
    values = {"name": name, "slug": slug, "description": description, "parent_id": parent_id}
    try:
        data = _category_in(values)
    except ValidationError as exc:
        return await _tree_page(page, status_code=422, errors=form_errors(exc), values=values)
    try:
        async with page.session.begin_nested():
            created = await taxonomy.create_category(page.session, data)
            _record(page, "category.created", None, created)
    except EmporiumError as exc:
        if exc.status_code not in (404, 409, 422):
            raise
        return await _tree_page(page, status_code=exc.status_code, error=exc.message, values=values)
    return page.redirect("/admin/categories", flash=f"Category “{created.name}” added.")


async def _edit_page(
    page: AdminContext,
    category: CategoryRead,
    *,
    status_code: int = 200,
    error: str | None = None,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    tree = await taxonomy.category_tree(page.session, include_inactive=True)
    # A category cannot move under itself or a descendant: those are not offered (and refused if forged).
    parents = [(node, depth) for node, depth in flatten(tree) if not node.path.startswith(category.path)]
    return await page.render(
        "admin/catalog/category.html.j2",
        title=category.name,
        status_code=status_code,
        breadcrumbs=[("Categories", "/admin/categories"), (category.name, None)],
        category=category,
        parents=parents,
        error=error,
        errors=errors or {},
        values=values
        or {
            "name": category.name,
            "slug": category.slug,
            "description": category.description or "",
            "parent_id": str(category.parent_id or ""),
        },
    )


@router.get("/{category_id}", response_class=HTMLResponse, response_model=None)
async def edit_category(page: CategoriesPage, category_id: IdPath) -> Response:
    return await _edit_page(page, await taxonomy.category(page.session, category_id))


@router.post("/{category_id}", response_model=None)
async def save_category(
    page: CategoriesPage,
    category_id: IdPath,
    name: Text = "",
    slug: Text = "",
    description: LongText = "",
    parent_id: ParentField = "",
) -> Response:
    before = await taxonomy.category(page.session, category_id)
    values = {"name": name, "slug": slug, "description": description, "parent_id": parent_id}
    try:
        data = _category_in({**values, "position": before.position, "is_active": before.is_active})
    except ValidationError as exc:
        return await _edit_page(page, before, status_code=422, errors=form_errors(exc), values=values)
    try:
        async with page.session.begin_nested():
            after = await taxonomy.update_category(page.session, category_id, data)
            _record(page, "category.updated", before, after)
    except EmporiumError as exc:
        if exc.status_code not in (404, 409, 422):
            raise
        return await _edit_page(page, before, status_code=exc.status_code, error=exc.message, values=values)
    return page.redirect("/admin/categories", flash=f"Category “{after.name}” saved.")


@router.post("/{category_id}/active", response_model=None)
async def set_active(
    page: CategoriesPage, category_id: IdPath, active: Annotated[str, Form(pattern=r"^(0|1)$")]
) -> Response:
    """Hide a category (and so its subtree) from the shop, or show it again."""
    before = await taxonomy.category(page.session, category_id)
    data = CategoryIn(
        name=before.name,
        slug=before.slug,
        description=before.description,
        parent_id=before.parent_id,
        position=before.position,
        is_active=active == "1",
    )
    after = await taxonomy.update_category(page.session, category_id, data)
    _record(page, "category.updated", before, after)
    shown = "shown in the shop again" if after.is_active else "hidden from the shop, with its subcategories"
    return page.redirect(f"/admin/categories/{category_id}", flash=f"“{after.name}” is {shown}.")


@router.post("/{category_id}/step", response_model=None)
async def step(
    page: CategoriesPage, category_id: IdPath, direction: Annotated[str, Form(pattern=r"^(up|down)$")]
) -> Response:
    """Move a category one place up or down among its siblings."""
    before = await taxonomy.category(page.session, category_id)
    after = await taxonomy.step_category(page.session, category_id, up=direction == "up")
    if after is None:
        where = "first" if direction == "up" else "last"
        return page.redirect(
            "/admin/categories", flash=f"“{before.name}” is already {where}.", flash_kind="info"
        )
    _record(page, "category.reordered", before, after)
    return page.redirect("/admin/categories", flash=f"“{after.name}” moved {direction}.")
