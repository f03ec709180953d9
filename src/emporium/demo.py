"""Demo data: loaded once into a new shop so there is something to look at and sign in with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from emporium.accounts.models import Address, User
from emporium.accounts.service import auth
from emporium.catalog.demo_catalog import Progress, bulk_plan, curated_plan, insert_products, product_count
from emporium.core.context import AppContext
from emporium.core.db import Base, UTCDateTime, utcnow

DEMO_CUSTOMER_EMAIL = "customer@demo.emporium.localhost"
DEMO_CUSTOMER_PASSWORD = "demo-customer-pass"  # noqa: S105 - published on purpose: demo shops only


class AppliedSeed(Base):
    """Which one-off data loads ran, so running setup again never loads them twice."""

    __tablename__ = "applied_seeds"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


async def _already_applied(session: AsyncSession, name: str) -> bool:
    return (
        await session.execute(select(AppliedSeed.name).where(AppliedSeed.name == name))
    ).first() is not None


async def load_demo(ctx: AppContext) -> bool:
    """Load the demo data (accounts, catalog) unless loaded before; True when anything was loaded now."""
    loaded_accounts = await _load_demo_accounts(ctx)
    loaded_catalog = await _load_demo_catalog(ctx)
    return loaded_accounts or loaded_catalog


async def _load_demo_catalog(ctx: AppContext) -> bool:
    async with ctx.db.session() as session:
        if await _already_applied(session, "demo:catalog"):
            return False
        await insert_products(session, curated_plan(ctx.settings.currency), ctx.settings.currency)
        session.add(AppliedSeed(name="demo:catalog"))
    return True


async def top_up_products(ctx: AppContext, total: int, progress: Progress | None = None) -> int:
    """Add generated products until the shop holds ``total``; returns how many were added.

    Committed in chunks so a large run (100,000 products) keeps memory flat and shows steady progress.
    """
    added = 0
    chunk = 5000
    while True:
        async with ctx.db.session() as session:
            existing = await product_count(session)
            missing = min(total - existing, chunk)
            if missing <= 0:
                return added
            plan = list(bulk_plan(existing, missing, ctx.settings.currency))
            await insert_products(session, plan, ctx.settings.currency, progress)
        added += missing


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
                    phone="+1 555 0100",
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
