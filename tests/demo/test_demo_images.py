"""The demo shop's pictures: drawn with Pillow, stored like uploads, one or two per curated product."""

from __future__ import annotations

import io
import time
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select

from emporium.catalog.media.imaging import SIZES
from emporium.catalog.models import Product, ProductImage
from emporium.core.context import AppContext
from emporium.demo.catalog import curated_plan
from emporium.demo.images import draw_picture, initials, palette
from emporium.demo.service import load_demo, top_up_products
from tests.conftest import MakeContext


def stored_files(media_dir: Path) -> set[str]:
    return {str(p.relative_to(media_dir)) for p in media_dir.rglob("*") if p.is_file()}


async def images_by_product(ctx: AppContext) -> dict[int, list[ProductImage]]:
    async with ctx.db.session() as session:
        found: dict[int, list[ProductImage]] = {}
        for image in (await session.scalars(select(ProductImage).order_by(ProductImage.position))).all():
            found.setdefault(image.product_id, []).append(image)
        return found


async def test_every_curated_product_gets_stored_pictures_once(
    make_context: MakeContext, tmp_path: Path
) -> None:
    ctx = make_context(media_dir=str(tmp_path))
    # A shop whose catalog was loaded without pictures gets them on the next run.
    assert await load_demo(ctx, images=False) is True
    assert await images_by_product(ctx) == {}
    assert stored_files(tmp_path) == set()

    started = time.perf_counter()
    assert await load_demo(ctx) is True
    print(f"demo pictures drawn and stored in {time.perf_counter() - started:.1f} s")

    async with ctx.db.session() as session:
        products = {row.id: row.slug for row in await session.execute(select(Product.id, Product.slug))}
    curated = {planned.slug for planned in curated_plan(ctx.settings.currency)}
    assert set(products.values()) == curated
    images = await images_by_product(ctx)
    assert set(images) == set(products)
    assert {len(found) for found in images.values()} == {1, 2}
    files: set[str] = set()
    for product_id, found in images.items():
        assert [image.position for image in found] == list(range(len(found)))
        assert (
            found[0].alt_text == next(p for p in curated_plan("USD") if p.slug == products[product_id]).name
        )
        for image in found:
            assert set(image.files) == set(SIZES)
            assert (image.width, image.height) == (800, 800)
            for size, key in image.files.items():
                assert key.startswith(f"products/{product_id}/")
                assert key.endswith(f"-{size}.webp")
                with Image.open(tmp_path / key) as picture:
                    assert picture.format == "WEBP"
                    assert max(picture.size) == min(SIZES[size], 800)
                files.add(key)
    # Every picture is a different one, and nothing else was written.
    hashes = [image.content_hash for found in images.values() for image in found]
    assert len(set(hashes)) == len(hashes)
    assert stored_files(tmp_path) == files

    # Loading again adds no picture and writes no file; bulk products get none.
    assert await load_demo(ctx) is False
    assert sum(len(found) for found in (await images_by_product(ctx)).values()) == len(hashes)
    assert await top_up_products(ctx, len(products) + 5) == 5
    assert set(await images_by_product(ctx)) == set(products)
    assert stored_files(tmp_path) == files
    async with ctx.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Product)) == len(products) + 5


def test_pictures_follow_the_department_and_differ_between_products() -> None:
    tee = draw_picture("Apparel", "Classic Crew T-Shirt", "Northwind · T-Shirts")
    assert tee == draw_picture("Apparel", "Classic Crew T-Shirt", "Northwind · T-Shirts")  # deterministic
    other = draw_picture("Apparel", "Organic Cotton Tee", "Northwind · T-Shirts")
    book = draw_picture("Books", "Paper Boats", "Lantern Press · Fiction")
    close_up = draw_picture("Apparel", "Classic Crew T-Shirt", "Northwind · T-Shirts", view=1)
    assert len({tee, other, book, close_up}) == 4
    with Image.open(io.BytesIO(tee)) as picture:
        assert (picture.format, picture.size) == ("PNG", (800, 800))
        # A blue-ish apparel shirt, a warm brown book: the department sets the hue.
        red, _, blue = picture.convert("RGB").getpixel((400, 300))  # type: ignore[misc]
        assert blue > red
    with Image.open(io.BytesIO(book)) as picture:
        red, _, blue = picture.convert("RGB").getpixel((400, 300))  # type: ignore[misc]
        assert red > blue
    assert palette("Books", "A") != palette("Books", "B")
    assert initials("Wireless Over-Ear Headphones") == "WOE"
    assert initials("65 W USB-C Charger") == "6WU"
