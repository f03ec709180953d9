"""After card payments of every kind, no Luhn-valid card number is anywhere in the database or the logs."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import JSON, String, Text, select

from emporium.core.context import AppContext
from emporium.core.db import Base
from emporium.payments.gateways.test_gateway import luhn_valid
from tests.payments.conftest import guest_order, pay_with, start_payment

# A run of 13 to 19 digits (spaces or dashes allowed) standing on its own: digits inside a longer run of
# letters and digits are part of an id, a digest or a token (a uuid's hex can hold 13 digits in a row).
CARD_LIKE = re.compile(r"(?<![0-9A-Za-z])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z])")


def _card_numbers(text: str) -> list[str]:
    found = []
    for match in CARD_LIKE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if luhn_valid(digits):
            found.append(digits)
    return found


async def test_no_card_number_is_kept(
    client: httpx.AsyncClient, ctx: AppContext, capsys: pytest.CaptureFixture[str]
) -> None:
    for number in ("4242 4242 4242 4242", "4000000000000002", "4000 0027 6000 3184", "4111111111111111"):
        placed = await guest_order(client, ctx)
        payment = await start_payment(client, placed)
        await pay_with(client, payment, number)
        await client.post(
            "/api/v1/payments/create-intent", json={"order_id": placed.order["id"], "card_number": number}
        )
    await ctx.jobs.run_until_idle()

    leaks = []
    async with ctx.db.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            if not columns:
                continue
            for row in (await session.execute(select(*columns))).all():
                for value in row:
                    leaks += [(table.name, n) for n in _card_numbers(str(value))]
    assert leaks == []
    out = capsys.readouterr()
    assert _card_numbers(out.out + out.err) == []
