"""The journeys' e-mails render from the context their code queues: subject, both parts, the unsubscribe
link in each, and a product name escaped in HTML only."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import update

from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.inventory.models import StockPool
from emporium.journeys.alerts import BackInStockEdge, stock_alerts
from emporium.journeys.tasks import scan
from emporium.notifications.email import render_email
from tests.conftest import Shopper
from tests.inventory.factory import make_product
from tests.journeys.helpers import planned
from tests.journeys.test_abandoned_carts import HOUR, _customer_cart

HOSTILE = "<b>Mug</b> & co"
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "emporium" / "templates"


def _channel_blocks(name: str, context: dict[str, object]) -> dict[str, str]:
    """The in-app and push texts: each block of templates/notifications/<name>.j2, rendered as text."""
    # Plain text, as the in-app feed and push show it (the core escapes where it renders HTML).
    env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False)  # noqa: S701
    template = env.get_template(f"notifications/{name}.j2")
    return {
        block: "".join(render(template.new_context(dict(context)))).strip()
        for block, render in template.blocks.items()
    }


async def test_the_cart_reminders_render(ctx: AppContext, shopper: Shopper) -> None:
    await _customer_cart(ctx, shopper)
    assert await scan(ctx, utcnow() + 2 * HOUR) == 1
    assert await scan(ctx, utcnow() + 25 * HOUR) == 1
    first, second = (p["context"] for p in await planned(ctx, "cart.abandoned"))
    mail = render_email("cart_abandoned", shopper.email, first)
    assert mail.subject == "You left something in your cart"
    assert render_email("cart_abandoned", shopper.email, second).subject == "Your cart is still waiting"
    for part in (mail.text, mail.html):
        assert first["cart_url"] in part
        assert first["unsubscribe_url"] in part
    assert "1 x Left tee 5" in mail.text
    assert _channel_blocks("cart_abandoned", first) == {
        "title": "You left something in your cart",
        "body": "1 item kept for you at Emporium.",
    }


async def test_the_back_in_stock_mails_render_and_escape(ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        mug = await make_product(session, HOSTILE, prices=("9.00",), on_hand=0)
        await stock_alerts.subscribe(
            session, ctx.settings, mug.variants[0].id, user_id=None, email="fan@example.com", now=utcnow()
        )
    [asked] = await planned(ctx, "stock.alert_confirm")
    confirm = render_email("stock_alert_confirm", "fan@example.com", asked["context"])
    assert confirm.subject == "Confirm your back-in-stock alert"
    assert asked["context"]["confirm_url"] in confirm.text
    assert "&lt;b&gt;Mug&lt;/b&gt; &amp; co" in confirm.html
    assert HOSTILE not in confirm.html
    assert HOSTILE in confirm.text

    async with ctx.db.session() as session:
        token = asked["context"]["confirm_url"].rsplit("/", 1)[1]
        await stock_alerts.confirm(session, ctx.settings, token, utcnow())
        await session.execute(update(StockPool).where(StockPool.id == mug.pools[0].id).values(on_hand=2))
        edge = BackInStockEdge(mug.variants[0].id, 2, utcnow())
        assert await stock_alerts.send_back_in_stock(session, ctx.settings, edge, utcnow()) == 1
    [told] = await planned(ctx, "stock.back_in_stock")
    mail = render_email("stock_back_in_stock", "fan@example.com", told["context"])
    assert mail.subject == f"Back in stock: {HOSTILE} ({HOSTILE} #1)"
    for part in (mail.text, mail.html):
        assert told["context"]["unsubscribe_url"] in part
    assert _channel_blocks("stock_back_in_stock", told["context"])["title"] == "Back in stock"
