"""GDPR for orders: a customer's export lists their orders; erasure keeps the books.

Orders are accounting records that the shop must keep, so erasure does not delete them: the contact e-mail
and phone and the shipping address are scrubbed, while the billing name and address, the lines and the
amounts stay for the invoice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.models import User
from emporium.core.money import from_minor
from emporium.orders.repository import OrderRepository


async def export_orders(session: AsyncSession, user: User) -> list[dict[str, Any]]:
    return [
        {
            "number": order.number,
            "status": order.status,
            "payment_status": order.payment_status,
            "payment_method": order.payment_method,
            "currency": order.currency,
            "total": f"{from_minor(order.total_minor, order.currency):f}",
            "shipping_address": order.shipping_address,
            "billing_address": order.billing_address,
            "contact": {
                "name": order.contact_name,
                "email": order.contact_email,
                "phone": order.contact_phone,
            },
            "created_at": order.created_at.isoformat(),
        }
        for order in await OrderRepository(session).for_customer(user.id)
    ]


async def erase_orders(session: AsyncSession, user: User) -> None:
    await OrderRepository(session).erase_contact(user.id)
