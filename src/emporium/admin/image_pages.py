"""``/admin/products/{id}/images``: upload several pictures at once (a plain multiple file field; the page's
script adds drag and drop), give each its alt text and variant, move it up or down, delete it after a
confirmation. Needs ``products:write``.

Each file goes through the API's upload pipeline (media/service.py): checked against the product in one
transaction, decoded and re-encoded with no transaction open (its type read from its bytes, decompression
bombs and oversized files refused), stored, then recorded with its audit entry in a second transaction.
A refused file is reported by name with the reason, and the others still go in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.routing import admin_router
from emporium.audit.schemas import AuditedObject
from emporium.audit.service import audit, diff
from emporium.catalog.media.config import MediaSettings
from emporium.catalog.media.errors import MediaError
from emporium.catalog.media.imaging import ImageRejected
from emporium.catalog.media.schemas import ALT_TEXT_MAX
from emporium.catalog.media.service import image_urls, media, schedule_file_removal
from emporium.catalog.media.storage import Storage, StorageError, create_storage
from emporium.catalog.variant_grid import Grid, variant_grid
from emporium.core.config import Settings
from emporium.core.errors import EmporiumError, NotFound, ServiceUnavailable, ValidationFailed
from emporium.core.middleware import BodyLimit
from emporium.core.params import MAX_ID, IdPath
from emporium.core.permissions import Permission

if TYPE_CHECKING:
    from emporium.catalog.models import ProductImage

router = admin_router(prefix="/admin/products")

ProductsWrite = Annotated[AdminContext, AdminWith(Permission.PRODUCTS_WRITE)]
MAX_FILES = 10
_UPLOAD_PATH = re.compile(r"/admin/products/[0-9]+/images/upload")
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
AltField = Annotated[str, Form(max_length=ALT_TEXT_MAX, pattern=_PRINTABLE)]
VariantField = Annotated[str, Form(max_length=20, pattern=r"^[0-9]*$")]


def upload_body_limit(settings: Settings) -> BodyLimit:
    """The upload form's body limit: room for ``MAX_FILES`` pictures of the largest size accepted."""
    largest = settings.part(MediaSettings).max_image_bytes
    return BodyLimit("POST", _UPLOAD_PATH, MAX_FILES * largest + 256 * 1024)


@dataclass(frozen=True)
class FileResult:
    filename: str
    ok: bool
    message: str


def _url(product_id: int) -> str:
    return f"/admin/products/{product_id}/images"


def _storage(request: Request, settings: Settings) -> Storage:
    # One per app, shared with the API's upload route: an S3 client is costly to build.
    storage: Storage | None = getattr(request.app.state, "media_storage", None)
    if storage is None:
        try:
            storage = create_storage(settings)
        except StorageError as exc:
            raise ServiceUnavailable(
                "Image storage is not configured.", code=MediaError.STORAGE_UNAVAILABLE
            ) from exc
        request.app.state.media_storage = storage
    return storage


async def _images_page(
    page: AdminContext,
    grid: Grid,
    *,
    status_code: int = 200,
    results: list[FileResult] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    images = await media.list_images(page.session, grid.product_id, include_unpublished=True)
    return await page.render(
        "admin/products/images.html.j2",
        title=f"Images of {grid.product_name}",
        breadcrumbs=[
            ("Products", "/admin/products"),
            (grid.product_name, f"/admin/products/{grid.product_id}"),
            ("Images", None),
        ],
        status_code=status_code,
        product={"id": grid.product_id, "name": grid.product_name},
        tab="images",
        images=[(image, image_urls(page.settings, image.files)) for image in images],
        variants=grid.variants,
        results=results or [],
        error=error,
        max_files=MAX_FILES,
        max_size=_size(page.settings.part(MediaSettings).max_image_bytes),
    )


@router.get("/{product_id}/images", response_class=HTMLResponse, response_model=None)
async def images_page(page: ProductsWrite, product_id: IdPath) -> Response:
    return await _images_page(page, await variant_grid.grid(page.session, product_id))


def _size(count: int) -> str:
    return f"{count / (1024 * 1024):.0f} MB" if count >= 1024 * 1024 else f"{count // 1024} KB"


async def _read(upload: UploadFile, max_bytes: int) -> bytes:
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationFailed(f"The file is larger than {_size(max_bytes)}, the most accepted.")
    if not data:
        raise ValidationFailed("The file is empty.")
    return data


async def _upload_one(page: AdminContext, storage: Storage, product_id: int, upload: UploadFile) -> str:
    """Upload one file through the pipeline; its message, or raises EmporiumError with the reason."""
    data = await _read(upload, page.settings.part(MediaSettings).max_image_bytes)
    target = await media.check_upload(page.session, product_id, None, data)
    await page.session.commit()  # no transaction stays open while the picture is processed
    try:
        processed = await media.process_upload(data)
    except ImageRejected as exc:
        raise ValidationFailed(exc.message, code=exc.code) from exc
    keys = await media.store_files(storage, product_id, processed)
    try:
        image = await media.create_image(page.session, target, processed, alt_text="", position=None)
        audit.record(
            page.session,
            page.actor,
            "image.uploaded",
            AuditedObject(type="product_image", id=image.id, label=upload.filename or "picture"),
            {"product_id": (None, product_id), "width": (None, image.width), "height": (None, image.height)},
        )
        await page.session.commit()
    except BaseException as exc:
        await page.session.rollback()
        if not (isinstance(exc, EmporiumError) and exc.code == MediaError.DUPLICATE_IMAGE):
            await media.remove_files(storage, keys)
        raise
    return f"Uploaded ({image.width} by {image.height} pixels)."


@router.post("/{product_id}/images/upload", response_model=None)
async def upload(page: ProductsWrite, product_id: IdPath) -> Response:
    grid = await variant_grid.grid(page.session, product_id)
    form = await page.request.form(max_files=MAX_FILES + 1)
    files = [value for value in form.getlist("files") if isinstance(value, UploadFile) and value.filename]
    if not files:
        return await _images_page(page, grid, status_code=422, error="Choose at least one picture to upload.")
    if len(files) > MAX_FILES:
        return await _images_page(
            page, grid, status_code=422, error=f"Upload at most {MAX_FILES} pictures at a time."
        )
    storage = _storage(page.request, page.settings)
    results = []
    for upload_file in files:
        name = (upload_file.filename or "picture")[:120]
        try:
            results.append(FileResult(name, True, await _upload_one(page, storage, product_id, upload_file)))
        except EmporiumError as exc:
            if exc.status_code >= 500 and exc.code != MediaError.STORAGE_UNAVAILABLE:
                raise
            results.append(FileResult(name, False, exc.message))
    saved = sum(result.ok for result in results)
    if saved == len(results):
        return page.redirect(_url(product_id), flash=f"{saved} picture{'' if saved == 1 else 's'} uploaded.")
    return await _images_page(page, grid, status_code=200 if saved else 422, results=results)


def _variant_id(text: str, grid: Grid) -> int | None:
    if not text:
        return None
    number = int(text) if len(text) < 20 else 0
    if not 1 <= number <= MAX_ID or all(v.id != number for v in grid.variants):
        raise ValidationFailed("Choose one of this product's variants, or none.")
    return number


async def _image(page: AdminContext, product_id: int, image_id: int) -> ProductImage:
    images = await media.list_images(page.session, product_id, include_unpublished=True)
    found = next((image for image in images if image.id == image_id), None)
    if found is None:
        raise NotFound("No such image for this product.", code=MediaError.IMAGE_NOT_FOUND)
    return found


@router.post("/{product_id}/images/{image_id}", response_model=None)
async def update_image(
    page: ProductsWrite,
    product_id: IdPath,
    image_id: IdPath,
    alt_text: AltField = "",
    variant_id: VariantField = "",
) -> Response:
    grid = await variant_grid.grid(page.session, product_id)
    image = await _image(page, product_id, image_id)
    before = {"alt_text": image.alt_text, "variant_id": image.variant_id}
    after = {"alt_text": alt_text.strip(), "variant_id": _variant_id(variant_id, grid)}
    await media.update_image(page.session, product_id, image_id, after)
    changes = diff(before, after)
    if changes:
        audit.record(
            page.session,
            page.actor,
            "image.updated",
            AuditedObject(type="product_image", id=image_id, label=f"image of {grid.product_name}"),
            changes,
        )
    return page.redirect(_url(product_id), flash="Image saved." if changes else "Nothing had changed.")


@router.post("/{product_id}/images/{image_id}/move", response_model=None)
async def move_image(
    page: ProductsWrite,
    product_id: IdPath,
    image_id: IdPath,
    direction: Annotated[Literal["up", "down"], Form()],
) -> Response:
    images = await media.list_images(page.session, product_id, include_unpublished=True)
    ids = [image.id for image in images]
    if image_id not in ids:
        raise NotFound("No such image for this product.", code=MediaError.IMAGE_NOT_FOUND)
    here = ids.index(image_id)
    there = here - 1 if direction == "up" else here + 1
    if not 0 <= there < len(ids):
        return page.redirect(_url(product_id), flash="The image is already at that end.", flash_kind="info")
    ids[here], ids[there] = ids[there], ids[here]
    await media.reorder(page.session, product_id, ids)
    audit.record(
        page.session,
        page.actor,
        "image.moved",
        AuditedObject(type="product_image", id=image_id, label=f"image of product {product_id}"),
        {"position": (here + 1, there + 1)},
    )
    return page.redirect(_url(product_id), flash=f"Image moved {direction}.")


@router.get("/{product_id}/images/{image_id}/delete", response_class=HTMLResponse, response_model=None)
async def confirm_delete(page: ProductsWrite, product_id: IdPath, image_id: IdPath) -> Response:
    grid = await variant_grid.grid(page.session, product_id)
    image = await _image(page, product_id, image_id)
    return await page.render(
        "admin/products/image_delete.html.j2",
        title="Delete an image",
        breadcrumbs=[
            ("Products", "/admin/products"),
            (grid.product_name, f"/admin/products/{grid.product_id}"),
            ("Images", _url(product_id)),
            ("Delete", None),
        ],
        product={"id": grid.product_id, "name": grid.product_name},
        tab="images",
        image=image,
        urls=image_urls(page.settings, image.files),
    )


@router.post("/{product_id}/images/{image_id}/delete", response_model=None)
async def delete_image(page: ProductsWrite, product_id: IdPath, image_id: IdPath) -> Response:
    image = await _image(page, product_id, image_id)
    keys = await media.delete_image(page.session, product_id, image.id)
    # The files go once this deletion is committed (a job written in the same transaction).
    schedule_file_removal(page.session, product_id, keys)
    audit.record(
        page.session,
        page.actor,
        "image.deleted",
        AuditedObject(type="product_image", id=image_id, label=f"image of product {product_id}"),
        {"alt_text": (image.alt_text, None)},
    )
    return page.redirect(_url(product_id), flash="Image deleted.")
