"""Demo data: loaded once into a new shop so there is something to look at and sign in with."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import Address, User
from emporium.accounts.service import auth
from emporium.catalog.media.service import UploadTarget, media
from emporium.catalog.media.storage import Storage, StorageError, create_storage
from emporium.catalog.models import Product, ProductImage
from emporium.core.context import AppContext
from emporium.core.errors import ServiceUnavailable
from emporium.demo.catalog import (
    PlannedProduct,
    Progress,
    bulk_plan,
    curated_plan,
    insert_products,
    product_count,
    refresh_statistics,
)
from emporium.demo.images import DemoPicture, render_pictures
from emporium.demo.models import AppliedSeed
from emporium.demo.pricing import load_demo_pricing
from emporium.demo.reviews import load_demo_reviews

log = structlog.get_logger(__name__)

DEMO_CUSTOMER_EMAIL = "customer@demo.emporium.localhost"
DEMO_CUSTOMER_PASSWORD = "demo-customer-pass"  # noqa: S105 - published on purpose: demo shops only


async def _already_applied(session: AsyncSession, name: str) -> bool:
    return (
        await session.execute(select(AppliedSeed.name).where(AppliedSeed.name == name))
    ).first() is not None


async def load_demo(ctx: AppContext, *, images: bool = True) -> bool:
    """Load the demo data (accounts, catalog, product pictures) unless loaded before; True when anything
    was loaded now. ``images=False`` leaves the pictures out (they can be added by a later run)."""
    loaded_accounts = await _load_demo_accounts(ctx)
    loaded_catalog = await _load_demo_catalog(ctx)
    loaded_pricing = await _load_demo_pricing(ctx)
    loaded_reviews = await _load_demo_reviews(ctx)
    loaded_images = await _load_demo_images(ctx) if images else False
    return loaded_accounts or loaded_catalog or loaded_pricing or loaded_reviews or loaded_images


async def _load_demo_catalog(ctx: AppContext) -> bool:
    async with ctx.db.session() as session:
        if await _already_applied(session, "demo:catalog"):
            return False
        await insert_products(session, curated_plan(ctx.settings.currency), ctx.settings.currency)
        session.add(AppliedSeed(name="demo:catalog"))
    return True


async def _load_demo_pricing(ctx: AppContext) -> bool:
    async with ctx.db.session() as session:
        if await _already_applied(session, "demo:pricing"):
            return False
        await load_demo_pricing(session)
        session.add(AppliedSeed(name="demo:pricing"))
    return True


async def _load_demo_reviews(ctx: AppContext) -> bool:
    async with ctx.db.session() as session:
        if await _already_applied(session, "demo:reviews"):
            return False
        await load_demo_reviews(session, ctx)
        session.add(AppliedSeed(name="demo:reviews"))
    return True


async def _render_all(targets: list[tuple[int, PlannedProduct]]) -> list[DemoPicture]:
    """Draw in one process per CPU: Pillow's WebP encoder holds the GIL, so threads would not help.

    A program that cannot start worker processes (or whose main module is not import-safe) gets its
    pictures drawn in a thread instead, only more slowly."""
    jobs = [
        (product_id, planned.department, planned.name, f"{planned.brand} \u00b7 {planned.category}")
        for product_id, planned in targets
    ]
    workers = min(os.cpu_count() or 1, len(jobs), 8)
    if workers > 1:
        loop = asyncio.get_running_loop()
        try:
            # "spawn": forking a process that runs an event loop and driver threads is not safe.
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                rendered = await asyncio.gather(
                    *(loop.run_in_executor(pool, render_pictures, *job) for job in jobs)
                )
            return [picture for pictures in rendered for picture in pictures]
        except (BrokenProcessPool, OSError) as exc:
            log.warning("demo_images_single_process", error=str(exc))
    return [picture for job in jobs for picture in await asyncio.to_thread(render_pictures, *job)]


async def _load_demo_images(ctx: AppContext) -> bool:
    """Generated pictures for the curated products, stored like uploads (WebP in three sizes under
    content-hash names, in the configured storage). Products that already have images are skipped, and
    the run is recorded, so loading again adds none. Bulk benchmark products get no pictures."""
    plan = {planned.slug: planned for planned in curated_plan(ctx.settings.currency)}
    async with ctx.db.session() as session:
        if await _already_applied(session, "demo:images"):
            return False
        with_images = select(ProductImage.product_id).distinct()
        rows = await session.execute(
            select(Product.id, Product.slug).where(
                Product.slug.in_(list(plan)), Product.id.not_in(with_images)
            )
        )
        targets = [(product_id, plan[slug]) for product_id, slug in rows.all()]
    try:
        storage: Storage = create_storage(ctx.settings)
    except StorageError as exc:
        log.warning("demo_images_skipped", error=str(exc))
        return False
    pictures = await _render_all(targets)
    written: list[str] = []
    try:
        for picture in pictures:
            written += await media.store_files(storage, picture.product_id, picture.processed)
        async with ctx.db.session() as session:
            for picture in pictures:
                target = UploadTarget(picture.product_id, None, picture.processed.content_hash)
                await media.create_image(
                    session, target, picture.processed, alt_text=picture.alt_text, position=None
                )
            session.add(AppliedSeed(name="demo:images"))
    except ServiceUnavailable as exc:
        await media.remove_files(storage, written)
        log.warning("demo_images_skipped", error=exc.message)
        return False
    except BaseException:
        await media.remove_files(storage, written)
        raise
    return True


# Products per transaction of a top-up: memory stays flat and a failure loses one chunk at most.
TOP_UP_CHUNK = 5000


async def top_up_products(ctx: AppContext, total: int, progress: Progress | None = None) -> int:
    """Add generated products until the shop holds ``total``; returns how many were added.

    Committed in chunks, each in one transaction with its search index, so a large run (100,000
    products) keeps memory flat, shows steady progress, and a failure loses one chunk at most.
    """
    added = 0
    while True:
        async with ctx.db.session() as session:
            existing = await product_count(session)
            missing = min(total - existing, TOP_UP_CHUNK)
            if missing <= 0:
                break
            plan = list(bulk_plan(existing, missing, ctx.settings.currency))
            await insert_products(session, plan, ctx.settings.currency, progress)
        added += missing
    if added:
        async with ctx.db.session() as session:
            await refresh_statistics(session)
    return added


async def _load_demo_accounts(ctx: AppContext) -> bool:
    async with ctx.db.session() as session:
        if await _already_applied(session, "demo:accounts"):
            return False
        existing = await session.execute(select(User).where(User.email == DEMO_CUSTOMER_EMAIL))
        customer = existing.scalar_one_or_none()
        if customer is None:
            customer = await auth.create_user(
                session,
                ctx,
                email=DEMO_CUSTOMER_EMAIL,
                password=DEMO_CUSTOMER_PASSWORD,
                role="customer",
                first_name="Dana",
                last_name="Demo",
            )
            session.add(
                Address(
                    user_id=customer.id,
                    label="Home",
                    full_name="Dana Demo",
                    phone="+12175550100",
                    line1="1 Market Street",
                    city="Springfield",
                    region="IL",
                    postal_code="62701",
                    country="US",
                    is_default=True,
                )
            )
        session.add(AppliedSeed(name="demo:accounts"))
    return True
