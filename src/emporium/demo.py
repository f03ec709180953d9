"""Demo data: loaded once into a new shop so there is something to look at and sign in with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from emporium.accounts.models import Address, User
from emporium.accounts.service import auth
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
    """Load the demo data unless it was loaded before; True when it was loaded now."""
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
