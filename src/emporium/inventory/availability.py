"""How much a pool can still sell: the one availability rule, for rows in hand and inside SQL.

A pool holds ``on_hand``, of which ``reserved`` is held by placed orders. A variant drawing
``draw_per_unit`` from it (1 piece, or 250 grams of a gram pool) can still sell
``(on_hand - reserved) // draw_per_unit`` units. ``units_available`` is the rule for pools already read;
``units_available_sql`` is the same rule as an SQL expression for a statement that filters, sorts or reserves
by it; ``units_available_text`` renders that expression for statements written as SQL text. Every other
module asks one of these three; none writes the arithmetic itself.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, SQLColumnExpression, literal_column


def units_available(on_hand: int, reserved: int, draw_per_unit: int = 1, *, held: int = 0) -> int:
    """How many units drawing ``draw_per_unit`` each the pool can still give, never fewer than none.

    ``held`` is what other lines of the same cart already take from the pool (the 250 g and 1 kg boxes of
    one sweet add up on one gram pool). With the default ``draw_per_unit`` of 1 it is the pool's free stock,
    in the pool's own unit."""
    return max(on_hand - reserved - held, 0) // max(draw_per_unit, 1)


def units_available_sql(
    on_hand: SQLColumnExpression[int],
    reserved: SQLColumnExpression[int],
    draw_per_unit: SQLColumnExpression[int] | None = None,
) -> ColumnElement[int]:
    """``units_available`` as SQL, over a pool's columns (and the variant's ``draw_per_unit``; without it,
    the pool's free stock). A pool never holds less than it has reserved (a CHECK constraint), so the
    difference is never negative and integer division is the rule's floor."""
    free = on_hand - reserved
    return free if draw_per_unit is None else free // draw_per_unit


def units_available_text(pool: str, draw_per_unit: str | None = None) -> str:
    """``units_available_sql`` as SQL text, for a statement written as text: ``pool`` is the alias of
    ``stock_pools`` in it, ``draw_per_unit`` the variant's column (``"v.draw_per_unit"``)."""
    expression = units_available_sql(
        literal_column(f"{pool}.on_hand", BigInteger),
        literal_column(f"{pool}.reserved", BigInteger),
        None if draw_per_unit is None else literal_column(draw_per_unit, BigInteger),
    )
    return str(expression.compile())
