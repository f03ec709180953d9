"""The availability rule is written once: the SQL built from it answers as the Python function does."""

from __future__ import annotations

from sqlalchemy import BigInteger, literal, select, text

from emporium.core.context import AppContext
from emporium.inventory.availability import units_available, units_available_sql, units_available_text

# (on_hand, reserved, draw_per_unit): a pool never holds less than it has reserved.
CASES = [
    (0, 0, 1),
    (1750, 250, 250),
    (1750, 250, 500),
    (1750, 250, 1000),
    (999, 0, 1000),
    (10, 10, 1),
    (7, 2, 3),
]


def test_units_available_is_free_stock_divided_by_the_draw() -> None:
    assert units_available(1750, 250, 250) == 6
    assert units_available(1750, 250, 1000) == 1
    assert units_available(1750, 250) == 1500
    # Other lines of the cart on the same pool hold part of it.
    assert units_available(1750, 250, 500, held=750) == 1
    assert units_available(1750, 250, 500, held=2000) == 0


async def test_the_sql_expression_and_its_text_agree_with_the_function(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        for on_hand, reserved, draw in CASES:
            values = (literal(on_hand, BigInteger), literal(reserved, BigInteger))
            units = await session.scalar(select(units_available_sql(*values, literal(draw, BigInteger))))
            free = await session.scalar(select(units_available_sql(*values)))
            sql = units_available_text("p", "d.draw_per_unit")
            from_text = await session.scalar(
                text(
                    f"SELECT {sql} FROM (SELECT CAST(:on_hand AS BIGINT) AS on_hand, "
                    "CAST(:reserved AS BIGINT) AS reserved) p, "
                    "(SELECT CAST(:draw AS BIGINT) AS draw_per_unit) d"
                ),
                {"on_hand": on_hand, "reserved": reserved, "draw": draw},
            )
            assert units == from_text == units_available(on_hand, reserved, draw), (on_hand, reserved, draw)
            assert free == units_available(on_hand, reserved)
