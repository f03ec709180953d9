"""A small catalog to search: sweets, chocolate, apparel and electronics."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from emporium.core.context import AppContext
from tests.inventory.factory import make_brand, make_category, make_product


@dataclass
class Shop:
    ids: dict[str, int]
    categories: dict[str, int]
    brands: dict[str, str]  # name -> slug


@pytest.fixture
async def shop(ctx: AppContext) -> Shop:
    ids: dict[str, int] = {}
    async with ctx.db.session() as session:
        sweets = await make_category(session, "Sweets")
        indian = await make_category(session, "Indian Mithai", parent=sweets)
        apparel = await make_category(session, "Apparel")
        electronics = await make_category(session, "Electronics")
        cadbury = await make_brand(session, "Cadbury")
        acme = await make_brand(session, "Acme Wear")
        sonic = await make_brand(session, "Sonic Audio")
        products = [
            (
                "Milk Chocolate Bar",
                sweets,
                cadbury,
                ["chocolate", "milk"],
                "<p>Creamy milk.</p>",
                "3.50",
                10,
                "4.50",
            ),
            (
                "Dark Chocolate Truffles",
                sweets,
                cadbury,
                ["truffles"],
                "<p>70% cocoa.</p>",
                "12.00",
                5,
                "3.20",
            ),
            (
                "Gulab Jamun",
                indian,
                None,
                ["syrup"],
                "<p>Soft dumplings in rose syrup.</p>",
                "8.00",
                0,
                "4.90",
            ),
            ("Kaju Katli", indian, None, ["cashew"], "<p>Cashew fudge.</p>", "9.00", 20, "0"),
            (
                "Cotton T-Shirt",
                apparel,
                acme,
                ["cotton", "tees"],
                "<p>A <strong>soft</strong> tee.</p>",
                "19.99",
                7,
                "3.90",
            ),
            ("Denim Jeans", apparel, acme, ["denim"], "<p>Blue jeans.</p>", "49.00", 3, "2.50"),
            (
                "Wireless Headphones",
                electronics,
                sonic,
                ["audio"],
                "<p>A chocolate brown finish.</p>",
                "149.00",
                4,
                "4.10",
            ),
        ]
        for name, category, brand, tags, description, price, stock, rating in products:
            made = await make_product(
                session,
                name,
                category=category,
                brand=brand,
                tags=tags,
                description=description,
                prices=(price,),
                on_hand=stock,
                rating=rating,
            )
            ids[name] = made.product.id
        draft = await make_product(session, "Chocolate Cookbook", category=sweets, status="draft")
        ids["Chocolate Cookbook"] = draft.product.id
    return Shop(
        ids=ids,
        categories={
            "sweets": sweets.id,
            "indian": indian.id,
            "apparel": apparel.id,
            "electronics": electronics.id,
        },
        brands={"Cadbury": cadbury.slug, "Acme Wear": acme.slug, "Sonic Audio": sonic.slug},
    )
