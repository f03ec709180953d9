"""Upload size limits, all-or-nothing uploads, and the serving of local media files."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import text

from emporium.app import create_app
from emporium.catalog.media.storage import IMMUTABLE_CACHE_CONTROL
from emporium.core.config import ConfigurationError
from tests.catalog.media.conftest import MediaApp, build_media_app
from tests.catalog.media.images import plain
from tests.catalog.media.test_upload_api import image_rows, images_url, stored_files, upload, upload_files
from tests.conftest import MakeContext
from tests.support import asgi_client, data, error

SMALL_LIMIT = 64 * 1024
BOUNDARY = "media-test-boundary"


@pytest.fixture
async def small_app(make_context: MakeContext, tmp_path: Path) -> AsyncIterator[MediaApp]:
    async for built in build_media_app(make_context, tmp_path / "media", max_image_bytes=SMALL_LIMIT):
        yield built


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels: it does not compress, so its size is about width * height * 3."""
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), os.urandom(width * height * 3)).save(out, format="PNG")
    return out.getvalue()


def multipart(payload: bytes, name: str = "photo.png") -> bytes:
    return (
        (
            f"--{BOUNDARY}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


async def test_oversized_upload_is_413_when_announced(small_app: MediaApp) -> None:
    product_id = await small_app.product("big-announced")
    response = await upload(small_app, product_id, b"\xff" * (3 * SMALL_LIMIT))
    assert "content-length" in response.request.headers
    assert error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["x-request-id"]


async def test_oversized_upload_is_413_when_streamed(small_app: MediaApp) -> None:
    product_id = await small_app.product("big-streamed")
    body = multipart(b"\xff" * (3 * SMALL_LIMIT))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16 * 1024):
            yield body[start : start + 16 * 1024]

    response = await small_app.client.post(
        images_url(product_id),
        content=chunks(),
        headers={**small_app.admin, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert "content-length" not in response.request.headers
    assert error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"


async def test_file_just_over_the_limit_is_413_from_the_route(small_app: MediaApp) -> None:
    # Within the multipart allowance of the body limit, so it is the route that measures the file.
    product_id = await small_app.product("just-over")
    response = await upload(small_app, product_id, b"\xff" * (SMALL_LIMIT + 1))
    assert error(response, 413)["code"] == "PAYLOAD_TOO_LARGE"
    assert await image_rows(small_app.ctx) == 0


async def test_streamed_upload_under_the_limit_is_accepted(small_app: MediaApp) -> None:
    product_id = await small_app.product("streamed-ok")
    body = multipart(plain("PNG", 120, 90))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    response = await small_app.client.post(
        images_url(product_id),
        content=chunks(),
        headers={**small_app.admin, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )
    assert (data(response, 201)["width"], data(response, 201)["height"]) == (120, 90)


async def test_uploads_may_exceed_the_general_body_limit_other_routes_may_not(app: MediaApp) -> None:
    big = noise_png(800, 600)  # about 1.4 MiB, over the 1 MiB limit of every other route
    assert len(big) > app.ctx.settings.max_request_body_bytes
    product_id = await app.product("big-photo")
    image = data(await upload(app, product_id, big, file_info={"name": "big.png"}), 201)
    assert (image["width"], image["height"]) == (800, 600)

    padding = [image["id"]] + [1] * (app.ctx.settings.max_request_body_bytes // 2)
    order = await app.client.put(
        images_url(product_id) + "/order", json={"image_ids": padding}, headers=app.admin
    )
    assert error(order, 413)["code"] == "PAYLOAD_TOO_LARGE"
    register = await app.client.post(
        "/api/v1/auth/register", content=b"x" * len(big), headers={"Content-Type": "application/json"}
    )
    assert error(register, 413)["code"] == "PAYLOAD_TOO_LARGE"
    # A large body sent to the upload path with another method still meets the general limit.
    put = await app.client.put(images_url(product_id), content=b"x" * len(big), headers=app.admin)
    assert error(put, 413)["code"] == "PAYLOAD_TOO_LARGE"


async def test_store_failure_half_way_leaves_no_file_and_no_row(app: MediaApp) -> None:
    product_id = await app.product("half-stored")
    picture = plain("PNG", 50, 50, (9, 9, 9))
    prefix = hashlib.sha256(picture).hexdigest()[:16]
    # A folder where the medium rendition should go: the thumb is written, then the medium fails.
    blocker = app.media_dir / "products" / str(product_id) / f"{prefix}-medium.webp"
    blocker.mkdir(parents=True)

    response = await upload(app, product_id, picture)

    assert error(response, 503)["code"] == "STORAGE_UNAVAILABLE"
    assert stored_files(app.media_dir) == []
    assert await image_rows(app.ctx) == 0


async def test_row_failure_removes_the_stored_files(app: MediaApp) -> None:
    product_id = await app.product("row-fails")
    # A real database refusal of the INSERT, after the files are stored.
    async with app.ctx.db.session() as session:
        if session.bind.dialect.name == "sqlite":
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_images BEFORE INSERT ON product_images "
                    "BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            await session.execute(
                text(
                    "CREATE FUNCTION refuse_images() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END $$"
                )
            )
            await session.execute(
                text(
                    "CREATE TRIGGER refuse_images BEFORE INSERT ON product_images "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_images()"
                )
            )

    response = await upload(app, product_id, plain("PNG", 60, 60))

    assert error(response, 409)["code"] == "PRODUCT_CHANGED"
    assert stored_files(app.media_dir) == []
    assert await image_rows(app.ctx) == 0


async def test_local_files_are_served_with_long_cache_headers(app: MediaApp) -> None:
    product_id = await app.product("served")
    image = data(await upload(app, product_id, plain("JPEG", 900, 300)), 201)
    for size, url in image["urls"].items():
        response = await app.client.get(url)
        assert response.status_code == 200, size
        assert response.headers["content-type"] == "image/webp"
        assert response.headers["cache-control"] == IMMUTABLE_CACHE_CONTROL
        assert response.content == (app.media_dir / url.removeprefix("/media/")).read_bytes()
        assert Image.open(io.BytesIO(response.content)).format == "WEBP"
    head = await app.client.head(image["urls"]["thumb"])
    assert head.status_code == 200
    assert head.content == b""


@pytest.mark.parametrize(
    "path",
    [
        "/media/products/1/0000000000000000-thumb.webp",
        "/media/",
        "/media/products",
        "/media/..%2Fsecret.webp",
        "/media/..%2F..%2Fsecret.webp",
        "/media/products/..%2F..%2Fsecret.webp",
        "/media/%2E%2E%2Fsecret.webp",
        "/media/%2E%2E/secret.webp",
        "/media/..%5Csecret.webp",
        "/media/%2Fetc%2Fpasswd",
        "/media/%2F%2Fetc%2Fpasswd",
        "/media/secret.webp%00.webp",
        "/media/..%252Fsecret.webp",
        "/media/products/1/.upload-x.webp",
    ],
)
async def test_unknown_or_escaping_paths_are_404(app: MediaApp, path: str) -> None:
    (app.media_dir.parent / "secret.webp").write_bytes(b"outside the media folder")
    app.media_dir.mkdir(parents=True, exist_ok=True)
    response = await app.client.get(path)
    assert error(response, 404)["code"] in {"MEDIA_NOT_FOUND", "NOT_FOUND"}
    assert b"outside the media folder" not in response.content


async def test_literal_dot_dot_path_never_escapes(app: MediaApp) -> None:
    """Raw ASGI, so no client can tidy the path up before it reaches the app."""
    (app.media_dir.parent / "secret.webp").write_bytes(b"outside the media folder")
    app.media_dir.mkdir(parents=True, exist_ok=True)
    application = create_app(ctx=app.ctx)
    for raw in (b"/media/../secret.webp", b"/media/products/../../secret.webp", b"/media//etc/passwd"):
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw.decode(),
            "raw_path": raw,
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
            "state": {},
        }
        await application(scope, receive, send)  # type: ignore[arg-type]
        assert sent[0]["status"] == 404, raw
        body = b"".join(m.get("body", b"") for m in sent[1:])
        assert b"outside the media folder" not in body


async def test_media_is_not_served_by_the_app_when_stored_in_s3(
    make_context: MakeContext, tmp_path: Path
) -> None:
    key = "products/1/0123456789abcdef-thumb.webp"
    (tmp_path / key).parent.mkdir(parents=True)
    (tmp_path / key).write_bytes(plain("WEBP", 5, 5))
    s3_ctx = make_context(media_storage="s3", s3_bucket="somewhere", media_dir=str(tmp_path))
    async with asgi_client(create_app(ctx=s3_ctx)) as client:
        assert error(await client.get(f"/media/{key}"), 404)["code"] == "NOT_FOUND"
    local_ctx = make_context(media_dir=str(tmp_path))
    async with asgi_client(create_app(ctx=local_ctx)) as client:
        assert (await client.get(f"/media/{key}")).status_code == 200


async def test_upload_files_helper_sends_the_declared_name(app: MediaApp) -> None:
    product_id = await app.product("named")
    response = await app.client.post(
        images_url(product_id),
        files=upload_files(plain("GIF", 10, 10), "x.gif", "image/gif"),
        headers=app.admin,
    )
    assert data(response, 201)["urls"]["thumb"].endswith("-thumb.webp")


@pytest.mark.parametrize("prefix", ["/", "", "media", "/api/v1/media"])
async def test_a_media_prefix_that_would_swallow_other_routes_is_refused(
    make_context: MakeContext, prefix: str
) -> None:
    with pytest.raises(ConfigurationError):
        create_app(ctx=make_context(media_url_prefix=prefix))
