"""POST/GET/PUT/DELETE /products/{id}/images: uploads end up as three clean WebP files and one row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from emporium.catalog.models import ProductImage, ProductStatus
from emporium.core.context import AppContext
from tests.catalog.media.conftest import MediaApp
from tests.catalog.media.images import decode, jpeg_with_exif, plain, png_claiming, png_with_alpha
from tests.support import count_statements, data, error


def images_url(product_id: int | str) -> str:
    return f"/api/v1/products/{product_id}/images"


def upload_files(
    payload: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"
) -> dict[str, tuple[str, bytes, str]]:
    return {"file": (name, payload, content_type)}


async def upload(app: MediaApp, product_id: int, payload: bytes, **form: Any) -> httpx.Response:
    return await app.client.post(
        images_url(product_id),
        files=upload_files(payload, **form.pop("file_info", {})),
        data={k: str(v) for k, v in form.items()},
        headers=app.admin,
    )


async def image_rows(ctx: AppContext) -> int:
    async with ctx.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(ProductImage)) or 0)


def stored_files(media_dir: Path) -> list[str]:
    if not media_dir.exists():
        return []
    return sorted(str(p.relative_to(media_dir)) for p in media_dir.rglob("*") if p.is_file())


async def test_upload_jpeg_with_exif_gives_three_clean_upright_webp_files(app: MediaApp) -> None:
    product_id = await app.product("camera-bag")
    original = jpeg_with_exif(1600, 800, orientation=6)

    image = data(await upload(app, product_id, original, alt_text="  A brown camera bag  "), 201)

    assert image["alt_text"] == "A brown camera bag"
    assert image["position"] == 0
    assert (image["width"], image["height"]) == (600, 1200)  # turned upright, capped at 1200
    assert set(image["urls"]) == {"thumb", "medium", "large"}
    expected = {"thumb": (100, 200), "medium": (300, 600), "large": (600, 1200)}
    for size, url in image["urls"].items():
        assert url.startswith(f"/media/products/{product_id}/")
        assert url.endswith(f"-{size}.webp")
        path = app.media_dir / url.removeprefix("/media/")
        stored = decode(path.read_bytes())
        assert stored.format == "WEBP"
        assert stored.size == expected[size]
        assert len(stored.getexif()) == 0
        assert b"SecretCam" not in path.read_bytes()
    assert len(stored_files(app.media_dir)) == 3

    async with app.ctx.db.session() as session:
        row = await session.get(ProductImage, image["id"])
        assert row is not None
        assert row.files == {size: url.removeprefix("/media/") for size, url in image["urls"].items()}
        assert len(row.content_hash) == 64
        assert all(row.content_hash[:16] in key for key in row.files.values())


async def test_png_with_alpha_keeps_it(app: MediaApp) -> None:
    product_id = await app.product("glass-vase")
    image = data(await upload(app, product_id, png_with_alpha(), file_info={"name": "v.png"}), 201)
    thumb = decode((app.media_dir / image["urls"]["thumb"].removeprefix("/media/")).read_bytes())
    assert thumb.mode == "RGBA"
    assert (image["width"], image["height"]) == (300, 300)


async def test_type_comes_from_the_content_not_the_name_or_content_type(app: MediaApp) -> None:
    product_id = await app.product("tea-pot")
    # A JPEG dressed as a PNG is accepted as the JPEG it is.
    lying_jpeg = {"name": "pot.png", "content_type": "image/png"}
    image = data(await upload(app, product_id, plain("JPEG", 640, 480), file_info=lying_jpeg), 201)
    assert (image["width"], image["height"]) == (640, 480)

    # A text file dressed as a JPEG is refused, and nothing is stored.
    before = stored_files(app.media_dir)
    response = await upload(app, product_id, b"I am not a picture, just text.\n" * 10)
    err = error(response, 422)
    assert err["code"] == "UNSUPPORTED_IMAGE"
    assert err["details"][0]["field"] == "file"
    assert stored_files(app.media_dir) == before
    assert await image_rows(app.ctx) == 1


async def test_empty_file_and_pixel_bomb_are_422(app: MediaApp) -> None:
    product_id = await app.product("empty-frame")
    assert error(await upload(app, product_id, b""), 422)["code"] == "EMPTY_FILE"
    bomb = await upload(app, product_id, png_claiming(60_000, 60_000), file_info={"name": "b.png"})
    assert error(bomb, 422)["code"] == "IMAGE_TOO_LARGE"
    assert stored_files(app.media_dir) == []
    assert await image_rows(app.ctx) == 0


async def test_same_picture_twice_is_409(app: MediaApp) -> None:
    product_id = await app.product("twin-mugs")
    picture = plain("PNG", 100, 100)
    data(await upload(app, product_id, picture), 201)
    assert error(await upload(app, product_id, picture), 409)["code"] == "DUPLICATE_IMAGE"
    # The same picture on another product is a separate image with its own files.
    other = await app.product("twin-mugs-2")
    data(await upload(app, other, picture), 201)
    assert len(stored_files(app.media_dir)) == 6


async def test_position_defaults_to_last_and_the_order_route_reorders(app: MediaApp) -> None:
    product_id = await app.product("ordered-lamp")
    ids = []
    for shade in range(3):
        image = data(await upload(app, product_id, plain("PNG", 30, 30, (shade, 0, 0))), 201)
        assert image["position"] == shade
        ids.append(image["id"])

    new_order = [ids[2], ids[0], ids[1]]
    body = data(
        await app.client.put(
            images_url(product_id) + "/order", json={"image_ids": new_order}, headers=app.admin
        )
    )
    assert [i["id"] for i in body] == new_order
    listed = data(await app.client.get(images_url(product_id)))
    assert [i["id"] for i in listed] == new_order
    assert [i["position"] for i in listed] == [0, 1, 2]

    # Leaving an image out, naming one twice or naming another product's image is refused.
    order_url = images_url(product_id) + "/order"
    missing = await app.client.put(order_url, json={"image_ids": ids[:2]}, headers=app.admin)
    assert error(missing, 422)["code"] == "IMAGE_ORDER_INCOMPLETE"
    twice = await app.client.put(order_url, json={"image_ids": [ids[0], ids[0], ids[1]]}, headers=app.admin)
    assert error(twice, 422)["code"] == "VALIDATION_ERROR"
    other_product = await app.product("other-lamp")
    stranger = data(await upload(app, other_product, plain("PNG", 31, 31)), 201)["id"]
    foreign = await app.client.put(
        order_url, json={"image_ids": [ids[0], ids[1], stranger]}, headers=app.admin
    )
    assert error(foreign, 404)["code"] == "IMAGE_NOT_FOUND"
    listed = data(await app.client.get(images_url(product_id)))
    assert [i["id"] for i in listed] == new_order


async def test_upload_at_a_position_and_for_a_variant(app: MediaApp) -> None:
    product_id = await app.product("t-shirt")
    variant_id = await app.variant(product_id, "TS-RED-M")
    image = data(await upload(app, product_id, plain("PNG", 40, 40), position=7, variant_id=variant_id), 201)
    assert (image["position"], image["variant_id"]) == (7, variant_id)

    other = await app.product("hoodie")
    foreign_variant = await app.variant(other, "HD-M")
    response = await upload(app, product_id, plain("PNG", 41, 41), variant_id=foreign_variant)
    err = error(response, 422)
    assert err["code"] == "INVALID_VARIANT"
    assert err["details"][0]["field"] == "variant_id"


async def test_update_alt_text_position_and_variant(app: MediaApp) -> None:
    product_id = await app.product("desk")
    variant_id = await app.variant(product_id, "DESK-OAK")
    image_id = data(await upload(app, product_id, plain("PNG", 50, 50)), 201)["id"]
    url = f"{images_url(product_id)}/{image_id}"

    body = data(
        await app.client.put(
            url, json={"alt_text": "Oak desk", "position": 4, "variant_id": variant_id}, headers=app.admin
        )
    )
    assert (body["alt_text"], body["position"], body["variant_id"]) == ("Oak desk", 4, variant_id)
    body = data(await app.client.put(url, json={"variant_id": None}, headers=app.admin))
    assert (body["alt_text"], body["variant_id"]) == ("Oak desk", None)

    assert error(await app.client.put(url, json={}, headers=app.admin), 422)["code"] == "VALIDATION_ERROR"
    bad_bodies: list[dict[str, Any]] = [
        {"alt_text": None},
        {"alt_text": "a" * 10_000},
        {"alt_text": "oak\x00desk"},
        {"position": -1},
        {"position": 2**70},
        {"position": "first"},
        {"variant_id": 0},
        {"variant_id": 2**63},
        {"colour": "red"},
    ]
    for bad in bad_bodies:
        assert (
            error(await app.client.put(url, json=bad, headers=app.admin), 422)["code"] == "VALIDATION_ERROR"
        )
    other = await app.product("other-desk")
    foreign_variant = await app.variant(other, "CHAIR-1")
    response = await app.client.put(url, json={"variant_id": foreign_variant}, headers=app.admin)
    assert error(response, 422)["code"] == "INVALID_VARIANT"
    assert data(await app.client.get(images_url(product_id)))[0]["alt_text"] == "Oak desk"


async def test_image_of_another_product_and_unknown_product_are_404(app: MediaApp) -> None:
    product_id = await app.product("chair")
    other = await app.product("table")
    image_id = data(await upload(app, product_id, plain("PNG", 60, 60)), 201)["id"]

    wrong = f"{images_url(other)}/{image_id}"
    assert error(await app.client.put(wrong, json={"alt_text": "x"}, headers=app.admin), 404)["code"] == (
        "IMAGE_NOT_FOUND"
    )
    assert error(await app.client.delete(wrong, headers=app.admin), 404)["code"] == "IMAGE_NOT_FOUND"
    assert len(stored_files(app.media_dir)) == 3

    missing = 9_000_000
    assert error(await upload(app, missing, plain("PNG", 61, 61)), 404)["code"] == "PRODUCT_NOT_FOUND"
    assert error(await app.client.get(images_url(missing)), 404)["code"] == "PRODUCT_NOT_FOUND"
    put_missing = await app.client.put(
        f"{images_url(missing)}/{image_id}", json={"alt_text": "x"}, headers=app.admin
    )
    assert error(put_missing, 404)["code"] == "PRODUCT_NOT_FOUND"
    order_missing = await app.client.put(
        images_url(missing) + "/order", json={"image_ids": [image_id]}, headers=app.admin
    )
    assert error(order_missing, 404)["code"] == "PRODUCT_NOT_FOUND"
    assert stored_files(app.media_dir) == stored_files(app.media_dir)


async def test_delete_removes_the_row_and_the_files(app: MediaApp) -> None:
    product_id = await app.product("rug")
    keep = data(await upload(app, product_id, plain("PNG", 70, 70, (1, 1, 1))), 201)
    gone = data(await upload(app, product_id, plain("PNG", 70, 70, (2, 2, 2))), 201)
    assert len(stored_files(app.media_dir)) == 6

    data(await app.client.delete(f"{images_url(product_id)}/{gone['id']}", headers=app.admin))

    remaining = stored_files(app.media_dir)
    assert len(remaining) == 3
    assert all(str(p) in {u.removeprefix("/media/") for u in keep["urls"].values()} for p in remaining)
    assert [i["id"] for i in data(await app.client.get(images_url(product_id)))] == [keep["id"]]
    again = await app.client.delete(f"{images_url(product_id)}/{gone['id']}", headers=app.admin)
    assert error(again, 404)["code"] == "IMAGE_NOT_FOUND"
    for size, url in gone["urls"].items():
        assert error(await app.client.get(url), 404)["code"] == "MEDIA_NOT_FOUND", size


async def test_listing_is_public_for_active_products_only(app: MediaApp) -> None:
    draft = await app.product("secret-prototype", status=ProductStatus.DRAFT)
    data(await upload(app, draft, plain("PNG", 80, 80)), 201)
    assert error(await app.client.get(images_url(draft)), 404)["code"] == "PRODUCT_NOT_FOUND"
    assert error(await app.client.get(images_url(draft), headers=app.customer), 404)
    assert len(data(await app.client.get(images_url(draft), headers=app.admin))) == 1


async def test_permissions(app: MediaApp) -> None:
    product_id = await app.product("guarded")
    image_id = data(await upload(app, product_id, plain("PNG", 90, 90)), 201)["id"]
    one = f"{images_url(product_id)}/{image_id}"
    calls = [
        ("POST", images_url(product_id), {"files": upload_files(plain("PNG", 91, 91))}),
        ("PUT", one, {"json": {"alt_text": "x"}}),
        ("DELETE", one, {}),
        ("PUT", images_url(product_id) + "/order", {"json": {"image_ids": [image_id]}}),
    ]
    for method, url, kwargs in calls:
        anonymous = await app.client.request(method, url, **kwargs)
        assert error(anonymous, 401)["code"] == "UNAUTHORIZED", (method, url)
        customer = await app.client.request(method, url, headers=app.customer, **kwargs)
        assert error(customer, 403)["code"] == "PERMISSION_DENIED", (method, url)
    assert await image_rows(app.ctx) == 1
    assert len(stored_files(app.media_dir)) == 3


async def test_hostile_input(app: MediaApp) -> None:
    product_id = await app.product("hostile")
    picture = plain("PNG", 20, 20)
    cases: list[tuple[str, dict[str, str]]] = [
        ("huge alt text", {"alt_text": "a" * 10_000}),
        ("NUL in alt text", {"alt_text": "bag\x00"}),
        ("control char in alt text", {"alt_text": "bag\x1b[31m"}),
        ("negative position", {"position": "-1"}),
        ("huge position", {"position": str(10**30)}),
        ("text position", {"position": "first"}),
        ("zero variant", {"variant_id": "0"}),
        ("huge variant", {"variant_id": str(2**63)}),
    ]
    for label, form in cases:
        response = await app.client.post(
            images_url(product_id), files=upload_files(picture), data=form, headers=app.admin
        )
        assert error(response, 422)["code"] == "VALIDATION_ERROR", label

    for bad_id in ("0", "-1", "abc", str(2**63), "1e3", "%00"):
        assert error(await app.client.get(images_url(bad_id)), 422), bad_id
        response = await app.client.put(
            f"{images_url(product_id)}/{bad_id}", json={"alt_text": "x"}, headers=app.admin
        )
        assert response.status_code in {404, 405, 422}, (bad_id, response.text)
        assert response.json()["success"] is False

    # The file as a plain form field, no file at all, JSON instead of multipart, a broken multipart body.
    no_file = await app.client.post(images_url(product_id), data={"file": "not a file"}, headers=app.admin)
    assert error(no_file, 422)["code"] == "VALIDATION_ERROR"
    nothing = await app.client.post(images_url(product_id), headers=app.admin)
    assert error(nothing, 422)["code"] == "VALIDATION_ERROR"
    as_json = await app.client.post(images_url(product_id), json={"file": "x"}, headers=app.admin)
    assert error(as_json, 422)["code"] == "VALIDATION_ERROR"
    broken = await app.client.post(
        images_url(product_id),
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nabc',
        headers={**app.admin, "Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= broken.status_code < 500
    assert broken.json()["success"] is False
    bad_order = await app.client.put(
        images_url(product_id) + "/order", json={"image_ids": ["a", None, -1]}, headers=app.admin
    )
    assert error(bad_order, 422)["code"] == "VALIDATION_ERROR"
    huge_order = await app.client.put(
        images_url(product_id) + "/order", json={"image_ids": list(range(1, 10_000))}, headers=app.admin
    )
    assert error(huge_order, 422)["code"] == "VALIDATION_ERROR"
    assert await image_rows(app.ctx) == 0
    assert stored_files(app.media_dir) == []

    # A NUL byte in the file name and 300 characters of multi-byte alt text are fine.
    odd = await app.client.post(
        images_url(product_id),
        files={"file": ("bad\x00name.jpg", picture, "image/jpeg")},
        data={"alt_text": "ü" * 300},
        headers=app.admin,
    )
    assert data(odd, 201)["alt_text"] == "ü" * 300


async def test_sql_statements_per_request(app: MediaApp) -> None:
    product_id = await app.product("counted")
    picture = plain("PNG", 20, 20)
    engine = app.ctx.db.engine
    with count_statements(engine) as uploaded:
        image_id = data(await upload(app, product_id, picture), 201)["id"]
    with count_statements(engine) as listed:
        data(await app.client.get(images_url(product_id)))
    with count_statements(engine) as deleted:
        data(await app.client.delete(f"{images_url(product_id)}/{image_id}", headers=app.admin))
    print(f"statements: upload={len(uploaded)} list={len(listed)} delete={len(deleted)}")
    assert len(uploaded) <= 8
    assert len(listed) <= 2
    assert len(deleted) <= 5
