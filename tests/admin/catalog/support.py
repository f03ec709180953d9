"""Shared pieces of the catalog back-office tests: files, uploads and counts."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select

from emporium.catalog.models import Product, ProductVariant
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient

IMPORT = "/admin/catalog/import"
HEADER = (
    "product_slug,product_name,category_slug,brand,status,featured,sku,variant_name,options,price,on_hand\n"
)
GOOD = HEADER + (
    "linen-shirt,Linen Shirt,,Loom & Line,active,true,LS-M,Linen Shirt M,size=M,45.00,10\n"
    "linen-shirt,,,,,,LS-L,Linen Shirt L,size=L,45.00,0\n"
    "kaju-katli,Kaju Katli,,Mithas,active,false,KK-250,Kaju Katli 250 g,weight=250 g,9.50,40\n"
)
# Row 3 (as a spreadsheet numbers it: the header is row 1) has a price that is not an amount.
BAD = GOOD.replace("LS-L,Linen Shirt L,size=L,45.00", "LS-L,Linen Shirt L,size=L,forty-five")
TOKEN = re.compile(r"/admin/catalog/import/([A-Za-z0-9_-]{20,64})")


def csv_file(text: str | bytes, name: str = "catalog.csv") -> dict[str, tuple[str, bytes, str]]:
    raw = text.encode() if isinstance(text, str) else text
    return {"file": (name, raw, "text/csv")}


async def upload(client: StaffClient, text: str | bytes, name: str = "catalog.csv") -> httpx.Response:
    return await client.post(IMPORT, files=csv_file(text, name), data={"csrf_token": client.csrf})


async def checked(client: StaffClient, text: str | bytes, name: str = "catalog.csv") -> str:
    """Upload a good file; the token of the kept upload."""
    response = await upload(client, text, name)
    assert response.status_code == 303, response.text
    found = TOKEN.search(response.headers["location"])
    assert found, response.headers["location"]
    return found.group(1)


async def apply(client: StaffClient, token: str) -> httpx.Response:
    return await client.post(f"{IMPORT}/{token}/apply", data={"csrf_token": client.csrf})


async def product_count(ctx: AppContext) -> tuple[int, int]:
    async with ctx.db.session() as session:
        products = (await session.execute(select(func.count()).select_from(Product))).scalar_one()
        variants = (await session.execute(select(func.count()).select_from(ProductVariant))).scalar_one()
    return int(products), int(variants)
