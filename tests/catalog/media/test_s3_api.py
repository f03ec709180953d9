"""The image routes with S3 storage, against a real S3 wire protocol (moto's server on loopback)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from emporium.app import create_app
from tests.catalog.media.conftest import S3Server, admin_headers, make_product
from tests.catalog.media.images import jpeg_with_exif, plain
from tests.catalog.media.test_upload_api import image_rows, images_url
from tests.conftest import MakeContext
from tests.support import asgi_client, data, error


async def test_upload_list_and_delete_through_s3(
    make_context: MakeContext, s3_server: S3Server, tmp_path: Path
) -> None:
    bucket = s3_server.new_bucket()
    ctx = make_context(
        media_dir=str(tmp_path / "unused"),
        **s3_server.settings(bucket, s3_public_url="https://cdn.example.com/shop"),
    )
    s3 = s3_server.client()
    async with asgi_client(create_app(ctx=ctx)) as client:
        headers = await admin_headers(ctx, client)
        product_id = await make_product(ctx, "s3-lamp")

        response = await client.post(
            images_url(product_id),
            files={"file": ("lamp.jpg", jpeg_with_exif(2400, 1200, orientation=1), "image/jpeg")},
            data={"alt_text": "Lamp"},
            headers=headers,
        )
        image = data(response, 201)

        expected = {"thumb": (200, 100), "medium": (600, 300), "large": (1200, 600)}
        for size, url in image["urls"].items():
            assert url.startswith(f"https://cdn.example.com/shop/products/{product_id}/")
            key = url.removeprefix("https://cdn.example.com/shop/")
            obj = s3.get_object(Bucket=bucket, Key=key)
            assert obj["ContentType"] == "image/webp"
            assert obj["CacheControl"] == "public, max-age=31536000, immutable"
            body = obj["Body"].read()
            picture = Image.open(io.BytesIO(body))
            assert picture.format == "WEBP"
            assert picture.size == expected[size]
            assert b"SecretCam" not in body
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 3
        assert not (tmp_path / "unused").exists()

        listed = data(await client.get(images_url(product_id)))
        assert [i["urls"] for i in listed] == [image["urls"]]

        data(await client.delete(f"{images_url(product_id)}/{image['id']}", headers=headers))
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
        assert data(await client.get(images_url(product_id))) == []


async def test_unreachable_bucket_is_503_and_creates_no_row(
    make_context: MakeContext, s3_server: S3Server
) -> None:
    ctx = make_context(**s3_server.settings("bucket-that-does-not-exist"))
    async with asgi_client(create_app(ctx=ctx)) as client:
        headers = await admin_headers(ctx, client)
        product_id = await make_product(ctx, "s3-missing-bucket")
        response = await client.post(
            images_url(product_id),
            files={"file": ("a.png", plain("PNG", 30, 30), "image/png")},
            headers=headers,
        )
        assert error(response, 503)["code"] == "STORAGE_UNAVAILABLE"
        assert await image_rows(ctx) == 0
