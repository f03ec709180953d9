"""The image manager of a product: several pictures uploaded at once through the plain file field, each
refused file named with its reason (not an image, a decompression bomb, too large), moved up and down,
given alt text and a variant, and deleted after a confirmation; hostile forms change nothing."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emporium.catalog.media.service import media
from emporium.core.context import AppContext
from tests.admin.conftest import StaffClient, csrf_of, new_staff_client
from tests.admin.products.factory import form_of, make_product, plain_variant
from tests.catalog.media.images import plain, png_claiming
from tests.conftest import MakeContext

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def shop(make_context: MakeContext, tmp_path: Path) -> AsyncIterator[tuple[AppContext, StaffClient]]:
    ctx = make_context(media_dir=str(tmp_path / "media"), max_image_bytes=200_000)
    client = await new_staff_client(ctx, "admin")
    yield ctx, client
    await client.aclose()


async def _images(ctx: AppContext, product_id: int) -> list[tuple[int, str, int | None]]:
    async with ctx.db.session() as session:
        found = await media.list_images(session, product_id, include_unpublished=True)
        return [(image.id, image.alt_text, image.variant_id) for image in found]


async def _upload(admin: StaffClient, product_id: int, files: list[tuple[str, bytes, str]]):  # type: ignore[no-untyped-def]
    url = f"/admin/products/{product_id}/images"
    token = form_of((await admin.get(url)).text, f"{url}/upload")["csrf_token"]
    return await admin.post(
        f"{url}/upload",
        data={"csrf_token": token},
        files=[("files", (name, body, kind)) for name, body, kind in files],
    )


async def test_several_pictures_upload_at_once_and_bad_files_are_named(
    shop: tuple[AppContext, StaffClient],
) -> None:
    ctx, admin = shop
    product_id = await make_product(ctx, "Tee", [plain_variant("TEE-1")])
    answer = await _upload(
        admin,
        product_id,
        [
            ("front.jpg", plain("JPEG", 300, 200, (200, 0, 0)), "image/jpeg"),
            ("back.png", plain("PNG", 200, 300, (0, 0, 200)), "image/png"),
            ("notes.png", b"%PDF-1.4 not a picture at all", "image/png"),
            ("bomb.png", png_claiming(50_000, 50_000), "image/png"),
            ("huge.bmp", os.urandom(300_000), "image/bmp"),
        ],
    )
    assert answer.status_code == 200, answer.text
    text = " ".join(answer.text.split())
    assert "<strong>front.jpg</strong>: Uploaded (300 by 200 pixels)." in text
    assert "<strong>back.png</strong>: Uploaded" in text
    assert "<strong>notes.png</strong>: The file is not a JPEG, PNG, WebP or GIF image." in text
    assert "<strong>bomb.png</strong>: The image has too many pixels" in text
    assert "<strong>huge.bmp</strong>: The file is larger than 195 KB, the most accepted." in text
    assert len(await _images(ctx, product_id)) == 2
    log = await admin.get("/admin/audit", params={"action": "image.uploaded"})
    assert log.text.count("image.uploaded") >= 2


async def test_all_files_refused_is_422_and_the_same_picture_twice_is_refused(
    shop: tuple[AppContext, StaffClient],
) -> None:
    ctx, admin = shop
    product_id = await make_product(ctx, "Tee", [plain_variant("TEE-1")])
    picture = plain("PNG", 50, 50)
    assert (await _upload(admin, product_id, [("a.png", picture, "image/png")])).status_code == 303
    again = await _upload(admin, product_id, [("a-again.png", picture, "image/png")])
    assert again.status_code == 422
    assert "This picture is already an image of the product." in again.text
    token = csrf_of((await admin.get(f"/admin/products/{product_id}/images")).text)
    nothing = await admin.post(f"/admin/products/{product_id}/images/upload", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "Choose at least one picture" in nothing.text
    assert len(await _images(ctx, product_id)) == 1


async def test_reorder_alt_text_variant_and_delete(shop: tuple[AppContext, StaffClient]) -> None:
    ctx, admin = shop
    product_id = await make_product(ctx, "Tee", [plain_variant("TEE-1"), plain_variant("TEE-2")])
    other = await make_product(ctx, "Other", [plain_variant("OTHER-1")])
    files = [(f"{i}.png", plain("PNG", 40 + i, 40, (i * 40, 0, 0)), "image/png") for i in range(3)]
    assert (await _upload(admin, product_id, files)).status_code == 303
    first, second, third = (image_id for image_id, _, _ in await _images(ctx, product_id))
    url = f"/admin/products/{product_id}/images"
    page = (await admin.get(url)).text

    moved = await admin.post(f"{url}/{third}/move", data=form_of(page, f"{url}/{third}/move"))
    assert moved.status_code == 303
    assert [i for i, _, _ in await _images(ctx, product_id)] == [first, third, second]
    page = (await admin.get(url)).text
    down = form_of(page, f"{url}/{first}/move")
    assert down["direction"] == "down"
    assert (await admin.post(f"{url}/{first}/move", data=down)).status_code == 303
    assert [i for i, _, _ in await _images(ctx, product_id)] == [third, first, second]

    variants = await admin.get(f"/admin/products/{product_id}/variants")
    variant_id = int(
        next(
            k
            for k in form_of(variants.text, f"/admin/products/{product_id}/variants")
            if k.startswith("sku.")
        ).split(".")[1]
    )
    fields = form_of((await admin.get(url)).text, f"{url}/{second}")
    fields |= {"alt_text": "Red tee, front", "variant_id": str(variant_id)}
    assert (await admin.post(f"{url}/{second}", data=fields)).status_code == 303
    assert (second, "Red tee, front", variant_id) in await _images(ctx, product_id)

    asked = await admin.get(f"{url}/{first}/delete")
    assert asked.status_code == 200
    assert "Delete the picture" in asked.text
    confirm = form_of(asked.text, f"{url}/{first}/delete")
    assert (await admin.post(f"{url}/{first}/delete", data=confirm)).status_code == 303
    assert [i for i, _, _ in await _images(ctx, product_id)] == [third, second]

    # Hostile: control characters, another product's variant or image, a made-up direction.
    token = confirm["csrf_token"]
    bad = [
        (f"{url}/{second}", {"alt_text": "bad\x07", "variant_id": ""}, 422),
        (f"{url}/{second}", {"alt_text": "x" * 301, "variant_id": ""}, 422),
        (f"{url}/{second}", {"alt_text": "ok", "variant_id": "999999999999999999999"}, 422),
        (f"/admin/products/{other}/images/{second}", {"alt_text": "stolen", "variant_id": ""}, 404),
        (f"{url}/{second}/move", {"direction": "sideways"}, 422),
        (f"{url}/987654/delete", {}, 404),
    ]
    for target, data, status in bad:
        answer = await admin.post(target, data={"csrf_token": token, **data})
        assert answer.status_code == status, (target, data, answer.status_code)
    async with ctx.db.session() as session:
        other_variant = (await media.list_images(session, product_id, include_unpublished=True))[0]
    foreign = await admin.post(
        f"{url}/{second}",
        data={"csrf_token": token, "alt_text": "x", "variant_id": str(other_variant.id + 10_000)},
    )
    assert foreign.status_code == 422
    assert [(i, a) for i, a, _ in await _images(ctx, product_id)] == [(third, ""), (second, "Red tee, front")]


async def test_support_staff_get_403(shop: tuple[AppContext, StaffClient]) -> None:
    ctx, _ = shop
    product_id = await make_product(ctx, "Tee", [plain_variant("TEE-1")])
    support = await new_staff_client(ctx, "support")
    try:
        assert (await support.get(f"/admin/products/{product_id}/images")).status_code == 403
        posted = await support.post(
            f"/admin/products/{product_id}/images/upload",
            data={"csrf_token": csrf_of((await support.get("/admin")).text)},
            files=[("files", ("a.png", plain("PNG", 10, 10), "image/png"))],
        )
        assert posted.status_code == 403
    finally:
        await support.aclose()
    assert await _images(ctx, product_id) == []
