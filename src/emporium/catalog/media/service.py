"""Product images: the rules and the SQL behind /products/{id}/images, and the public address of a file.

An upload is done in steps so that nothing is left half-written and no database lock is held while
pixels are crunched or bytes travel to the object store (the route commits between the steps):

1. ``check_upload`` (first transaction): the product exists, the variant is the product's, the same
   picture is not already there.
2. ``process_upload``: Pillow work in a thread; ``store_files`` writes every rendition or none.
3. ``create_image`` (second transaction): the row. If it cannot be committed the route calls
   ``remove_files``, so no file outlives a failed upload and no row points at a missing file.

Deleting a whole product (``catalog.delete_product``) enqueues ``REMOVE_FILES_JOB`` in the deleting
transaction: the files go once the deletion is committed, and stay if it is rolled back.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.errors import CatalogError
from emporium.catalog.media.config import MediaSettings
from emporium.catalog.media.errors import MediaError
from emporium.catalog.media.imaging import CONTENT_TYPE, ProcessedImage, process_image
from emporium.catalog.media.repository import MediaRepository
from emporium.catalog.media.storage import Storage, StorageError, create_storage, local_url, s3_url
from emporium.catalog.models import ProductImage, ProductStatus
from emporium.catalog.repository import CatalogRepository
from emporium.core.config import Settings
from emporium.core.errors import Conflict, NotFound, ServiceUnavailable, ValidationFailed
from emporium.core.jobs import PermanentJobError, enqueue

if TYPE_CHECKING:
    from emporium.core.context import AppContext

log = structlog.get_logger(__name__)

MAX_IMAGES_PER_PRODUCT = 50


def public_url(settings: Settings, key: str) -> str:
    """The address a browser fetches the stored file ``key`` from, for local disk or S3 storage.

    Local files are served by the app under ``media_url_prefix`` (a site-relative path such as
    ``/media/products/1/3f9a0c...-thumb.webp``); S3 objects are absolute URLs under ``s3_public_url``.
    """
    media = settings.part(MediaSettings)
    if media.media_storage == "s3":
        return s3_url(media, key)
    return local_url(media, key)


def image_urls(settings: Settings, files: Mapping[str, str]) -> dict[str, str]:
    """``{size: url}`` for a ``ProductImage.files`` mapping ``{size: key}``."""
    return {size: public_url(settings, key) for size, key in files.items()}


@dataclass(frozen=True)
class UploadTarget:
    product_id: int
    variant_id: int | None
    content_hash: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _product_not_found() -> NotFound:
    return NotFound("No such product.", code=CatalogError.PRODUCT_NOT_FOUND)


def _image_not_found() -> NotFound:
    return NotFound("No such image for this product.", code=MediaError.IMAGE_NOT_FOUND)


def _duplicate() -> Conflict:
    return Conflict("This picture is already an image of the product.", code=MediaError.DUPLICATE_IMAGE)


class MediaService:
    async def check_upload(
        self, session: AsyncSession, product_id: int, variant_id: int | None, data: bytes
    ) -> UploadTarget:
        repo = MediaRepository(session)
        if await repo.product_status(product_id) is None:
            raise _product_not_found()
        if variant_id is not None and await repo.variant_product(variant_id) != product_id:
            raise ValidationFailed(
                code=MediaError.INVALID_VARIANT,
                details=[{"field": "variant_id", "message": "Not a variant of this product."}],
            )
        digest = await asyncio.to_thread(content_hash, data)
        count, _, duplicate = await repo.image_stats(product_id, digest)
        if duplicate:
            raise _duplicate()
        if count >= MAX_IMAGES_PER_PRODUCT:
            raise Conflict(
                f"A product has at most {MAX_IMAGES_PER_PRODUCT} images.", code=MediaError.TOO_MANY_IMAGES
            )
        return UploadTarget(product_id=product_id, variant_id=variant_id, content_hash=digest)

    async def process_upload(self, data: bytes) -> ProcessedImage:
        """Raises :class:`ImageRejected` for what is not an acceptable image."""
        return await asyncio.to_thread(process_image, data)

    async def store_files(self, storage: Storage, product_id: int, processed: ProcessedImage) -> list[str]:
        """Write every rendition, or none: a failure removes what was written and answers 503."""
        written: list[str] = []
        try:
            for size, rendition in processed.renditions.items():
                key = processed.key(product_id, size)
                await storage.put(key, rendition.data, CONTENT_TYPE)
                written.append(key)
        except StorageError as exc:
            log.warning("media_store_failed", product_id=product_id, error=str(exc))
            await self.remove_files(storage, written)
            raise ServiceUnavailable(
                "The image could not be stored; try again later.", code=MediaError.STORAGE_UNAVAILABLE
            ) from exc
        return written

    async def create_image(
        self,
        session: AsyncSession,
        target: UploadTarget,
        processed: ProcessedImage,
        *,
        alt_text: str,
        position: int | None,
    ) -> ProductImage:
        repo = MediaRepository(session)
        # Asked again in this transaction: the same picture may have arrived meanwhile.
        count, next_position, duplicate = await repo.image_stats(target.product_id, target.content_hash)
        if duplicate:
            raise _duplicate()
        if count >= MAX_IMAGES_PER_PRODUCT:
            raise Conflict(
                f"A product has at most {MAX_IMAGES_PER_PRODUCT} images.", code=MediaError.TOO_MANY_IMAGES
            )
        largest = processed.largest
        image = ProductImage(
            product_id=target.product_id,
            variant_id=target.variant_id,
            position=next_position if position is None else position,
            alt_text=alt_text,
            content_hash=target.content_hash,
            width=largest.width,
            height=largest.height,
            files={size: processed.key(target.product_id, size) for size in processed.renditions},
        )
        session.add(image)
        await session.flush()
        return image

    async def remove_files(self, storage: Storage, keys: Sequence[str]) -> None:
        """Best effort: a file that cannot be removed is logged, never raised (it is only an orphan)."""
        for key in keys:
            try:
                await storage.delete(key)
            except StorageError as exc:
                log.warning("media_delete_failed", key=key, error=str(exc))

    async def list_images(
        self, session: AsyncSession, product_id: int, *, include_unpublished: bool
    ) -> list[ProductImage]:
        repo = MediaRepository(session)
        status = await repo.product_status(product_id)
        if status is None or (status != ProductStatus.ACTIVE and not include_unpublished):
            raise _product_not_found()
        return await repo.images_of(product_id)

    async def first_images(
        self, session: AsyncSession, product_ids: Sequence[int]
    ) -> dict[int, ProductImage]:
        """The first picture (by position) of each product, by product id: one statement, none for no ids."""
        if not product_ids:
            return {}
        return await CatalogRepository(session).first_images(sorted(set(product_ids)))

    async def _image(self, repo: MediaRepository, product_id: int, image_id: int) -> ProductImage:
        image = await repo.image(product_id, image_id)
        if image is None:
            if await repo.product_status(product_id) is None:
                raise _product_not_found()
            raise _image_not_found()
        return image

    async def update_image(
        self, session: AsyncSession, product_id: int, image_id: int, changes: Mapping[str, object]
    ) -> ProductImage:
        repo = MediaRepository(session)
        image = await self._image(repo, product_id, image_id)
        if "variant_id" in changes:
            variant_id = changes["variant_id"]
            if variant_id is not None:
                assert isinstance(variant_id, int)
                if await repo.variant_product(variant_id) != product_id:
                    raise ValidationFailed(
                        code=MediaError.INVALID_VARIANT,
                        details=[{"field": "variant_id", "message": "Not a variant of this product."}],
                    )
            image.variant_id = variant_id
        if "alt_text" in changes:
            image.alt_text = str(changes["alt_text"])
        if "position" in changes:
            position = changes["position"]
            assert isinstance(position, int)
            image.position = position
        await session.flush()
        return image

    async def delete_image(self, session: AsyncSession, product_id: int, image_id: int) -> list[str]:
        """Delete the row; returns the keys to remove once the deletion is committed."""
        repo = MediaRepository(session)
        image = await self._image(repo, product_id, image_id)
        keys = list(image.files.values())
        await repo.delete_image(image.id)
        # Content-addressed names: another row of the product with the same picture keeps the files.
        if await repo.has_hash(product_id, image.content_hash):
            return []
        return keys

    async def reorder(
        self, session: AsyncSession, product_id: int, image_ids: Sequence[int]
    ) -> list[ProductImage]:
        repo = MediaRepository(session)
        if await repo.product_status(product_id) is None:
            raise _product_not_found()
        images = {image.id: image for image in await repo.images_of(product_id)}
        unknown = [image_id for image_id in image_ids if image_id not in images]
        if unknown:
            raise NotFound(
                f"Image {unknown[0]} is not an image of this product.", code=MediaError.IMAGE_NOT_FOUND
            )
        if len(image_ids) != len(images):
            raise ValidationFailed(
                code=MediaError.IMAGE_ORDER_INCOMPLETE,
                details=[{"field": "image_ids", "message": "List every image of the product exactly once."}],
            )
        for position, image_id in enumerate(image_ids):
            images[image_id].position = position
        await session.flush()
        return [images[image_id] for image_id in image_ids]


media = MediaService()

REMOVE_FILES_JOB = "catalog.remove_image_files"


async def image_file_keys(session: AsyncSession, product_id: int) -> list[str]:
    return await MediaRepository(session).file_keys(product_id)


def schedule_file_removal(session: AsyncSession, product_id: int, keys: Sequence[str]) -> None:
    """Enqueue the removal of ``keys`` in the session's transaction: the job exists, and the files go,
    only if that transaction commits."""
    if keys:
        enqueue(session, REMOVE_FILES_JOB, {"product_id": product_id, "keys": list(keys)})


async def remove_image_files(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Remove stored files of deleted images; a failure is retried (removing a missing key is no error).

    A key that an image row points at again (SQLite may hand a deleted product's id to a new product,
    whose upload of the same picture then has the same name) is kept.
    """
    try:
        product_id = int(payload["product_id"])
        keys = [str(key) for key in payload["keys"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentJobError(f"bad payload: {type(exc).__name__}") from exc
    async with ctx.db.read_session() as session:
        in_use = set(await MediaRepository(session).file_keys(product_id))
    storage = create_storage(ctx.settings)
    failed = 0
    for key in keys:
        if key in in_use:
            continue
        try:
            await storage.delete(key)
        except StorageError as exc:
            failed += 1
            log.warning("media_delete_failed", key=key, error=str(exc))
    if failed:
        raise StorageError(f"{failed} of {len(keys)} files could not be removed")
