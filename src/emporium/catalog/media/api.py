"""Product images: upload, list, edit, reorder and delete (/api/v1/products/{id}/images), and the serving
of locally stored files under ``media_url_prefix``."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile, status
from fastapi.responses import FileResponse
from sqlalchemy.exc import IntegrityError

from emporium.accounts.auth import MaybePrincipal
from emporium.catalog.auth import ProductsWriter, sees_unpublished
from emporium.catalog.media.config import MediaSettings
from emporium.catalog.media.errors import MediaError
from emporium.catalog.media.imaging import CONTENT_TYPE, ImageRejected
from emporium.catalog.media.schemas import AltText, ImageId, ImageOrder, ImageRead, ImageUpdate, Position
from emporium.catalog.media.service import media
from emporium.catalog.media.storage import (
    IMMUTABLE_CACHE_CONTROL,
    InvalidKey,
    LocalStorage,
    Storage,
    StorageError,
    create_storage,
)
from emporium.core.config import ConfigurationError, Settings
from emporium.core.context import Ctx
from emporium.core.errors import (
    Conflict,
    EmporiumError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
    errors_doc,
)
from emporium.core.middleware import BodyLimit
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession

router = APIRouter(prefix=API_PREFIX, tags=["media"])

# Room for the multipart boundaries, part headers and the other form fields around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
_UPLOAD_PATH = re.compile(rf"{re.escape(API_PREFIX)}/products/[^/]+/images/?")


def upload_body_limit(settings: Settings) -> BodyLimit:
    """The body size limit of the upload route: every other route keeps ``max_request_body_bytes``."""
    max_image_bytes = settings.part(MediaSettings).max_image_bytes
    return BodyLimit("POST", _UPLOAD_PATH, max_image_bytes + MULTIPART_OVERHEAD_BYTES)


async def _storage(request: Request, ctx: Ctx) -> Storage:
    # One per app: an S3 client is costly to build and safe to share between threads.
    storage: Storage | None = getattr(request.app.state, "media_storage", None)
    if storage is None:
        try:
            storage = create_storage(ctx.settings)
        except StorageError as exc:
            raise ServiceUnavailable(
                "Image storage is not configured.", code=MediaError.STORAGE_UNAVAILABLE
            ) from exc
        request.app.state.media_storage = storage
    return storage


MediaStorage = Annotated[Storage, Depends(_storage)]


async def _read_upload(file: UploadFile, max_bytes: int) -> bytes:
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The image is larger than {max_bytes} bytes.")
    if not data:
        raise ValidationFailed(
            "The file is empty.",
            code=MediaError.EMPTY_FILE,
            details=[{"field": "file", "message": "The file is empty."}],
        )
    return data


@router.post(
    "/products/{product_id}/images",
    status_code=status.HTTP_201_CREATED,
    responses=errors_doc(401, 403, 404, 409, 413, 422, 503),
)
async def upload_image(
    product_id: IdPath,
    _: ProductsWriter,
    session: DbSession,
    ctx: Ctx,
    storage: MediaStorage,
    file: Annotated[UploadFile, File(description="A JPEG, PNG, WebP or GIF picture.")],
    alt_text: Annotated[AltText, Form()] = "",
    position: Annotated[Position | None, Form()] = None,
    variant_id: Annotated[ImageId | None, Form()] = None,
) -> Envelope[ImageRead]:
    """Upload a picture. Its type is read from its bytes; it is stored as WebP in three sizes, without
    its metadata. Without ``position`` it goes last."""
    data = await _read_upload(file, ctx.settings.part(MediaSettings).max_image_bytes)
    target = await media.check_upload(session, product_id, variant_id, data)
    # End the first transaction: no database lock is held while the picture is processed and stored.
    await session.commit()
    try:
        processed = await media.process_upload(data)
    except ImageRejected as exc:
        raise ValidationFailed(
            exc.message, code=exc.code, details=[{"field": "file", "message": exc.message}]
        ) from exc
    keys = await media.store_files(storage, product_id, processed)
    try:
        image = await media.create_image(session, target, processed, alt_text=alt_text, position=position)
        await session.commit()
    except EmporiumError as exc:
        # The same picture committed meanwhile by another request: its files are the ones just written.
        if exc.code != MediaError.DUPLICATE_IMAGE:
            await media.remove_files(storage, keys)
        raise
    except IntegrityError as exc:
        await media.remove_files(storage, keys)
        raise Conflict(
            "The image could not be saved: the product changed meanwhile; try again.",
            code=MediaError.PRODUCT_CHANGED,
        ) from exc
    except BaseException:
        await media.remove_files(storage, keys)
        raise
    return ok(ImageRead.of(image, ctx.settings), "Image uploaded.")


@router.get("/products/{product_id}/images", responses=errors_doc(401, 404, 422))
async def list_images(
    product_id: IdPath, session: DbSession, ctx: Ctx, principal: MaybePrincipal
) -> Envelope[list[ImageRead]]:
    """The images of an active product in display order (staff with products:write see any product's)."""
    staff = sees_unpublished(principal)
    images = await media.list_images(session, product_id, include_unpublished=staff)
    return ok([ImageRead.of(image, ctx.settings) for image in images])


# Declared before /images/{image_id} so that "order" is not read as an image id.
@router.put("/products/{product_id}/images/order", responses=errors_doc(401, 403, 404, 422))
async def reorder_images(
    product_id: IdPath, body: ImageOrder, _: ProductsWriter, session: DbSession, ctx: Ctx
) -> Envelope[list[ImageRead]]:
    """Set the display order: ``image_ids`` lists every image of the product once, first to last."""
    images = await media.reorder(session, product_id, body.image_ids)
    return ok([ImageRead.of(image, ctx.settings) for image in images])


@router.put("/products/{product_id}/images/{image_id}", responses=errors_doc(401, 403, 404, 422))
async def update_image(
    product_id: IdPath,
    image_id: IdPath,
    body: ImageUpdate,
    _: ProductsWriter,
    session: DbSession,
    ctx: Ctx,
) -> Envelope[ImageRead]:
    image = await media.update_image(session, product_id, image_id, body.changes())
    return ok(ImageRead.of(image, ctx.settings))


@router.delete("/products/{product_id}/images/{image_id}", responses=errors_doc(401, 403, 404, 422, 503))
async def delete_image(
    product_id: IdPath,
    image_id: IdPath,
    _: ProductsWriter,
    session: DbSession,
    storage: MediaStorage,
) -> Envelope[None]:
    """Delete the image; its files are removed once the deletion is committed."""
    keys = await media.delete_image(session, product_id, image_id)
    await session.commit()
    await media.remove_files(storage, keys)
    return ok(None, "Image deleted.")


def local_media_router(app_settings: Settings) -> APIRouter:
    """Serves files of the local storage at ``media_url_prefix``; mounted only when media is local.

    Names carry the content hash, so a file never changes: browsers and proxies may keep it a year.
    """
    settings = app_settings.part(MediaSettings)
    prefix = settings.media_url_prefix.rstrip("/")
    if not prefix.startswith("/") or prefix.startswith(API_PREFIX):
        raise ConfigurationError("EMPORIUM_MEDIA_URL_PREFIX must be a path of its own, such as /media")
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)
    files = APIRouter(prefix=prefix, tags=["media"], include_in_schema=False)

    @files.api_route("/{key:path}", methods=["GET", "HEAD"])
    async def serve_media(key: str) -> FileResponse:
        try:
            path = storage.path_of(key)
        except InvalidKey:
            path = None
        if path is None or path.suffix != ".webp" or not await asyncio.to_thread(path.is_file):
            raise NotFound("No such file.", code=MediaError.MEDIA_NOT_FOUND)
        return FileResponse(
            path,
            media_type=CONTENT_TYPE,
            headers={"Cache-Control": IMMUTABLE_CACHE_CONTROL, "X-Content-Type-Options": "nosniff"},
        )

    return files
