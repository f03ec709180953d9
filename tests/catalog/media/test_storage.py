"""The two storages: local files that never leave their folder, and S3 through the real S3 wire protocol
(moto's server on loopback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emporium.catalog.media.service import public_url
from emporium.catalog.media.storage import (
    IMMUTABLE_CACHE_CONTROL,
    InvalidKey,
    KeyNotFound,
    LocalStorage,
    S3Storage,
    StorageError,
    create_storage,
)
from emporium.settings import AppSettings
from tests.catalog.media.conftest import S3Server

UNSAFE_KEYS = [
    "",
    "../escape.webp",
    "products/../../escape.webp",
    "products/./1.webp",
    "/etc/passwd",
    "products//1.webp",
    "products/1/.hidden.webp",
    "products\\1.webp",
    "products/1\x00.webp",
    "C:/windows/x.webp",
    "products/" + "a" * 600,
    "products/1/é.webp",
]


async def test_local_storage_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, "/media/")
    await storage.put("products/1/abc-thumb.webp", b"bytes", "image/webp")
    assert (tmp_path / "products" / "1" / "abc-thumb.webp").read_bytes() == b"bytes"
    assert await storage.read("products/1/abc-thumb.webp") == b"bytes"
    assert storage.url("products/1/abc-thumb.webp") == "/media/products/1/abc-thumb.webp"
    # No temporary file is left beside it.
    assert [p.name for p in (tmp_path / "products" / "1").iterdir()] == ["abc-thumb.webp"]
    await storage.delete("products/1/abc-thumb.webp")
    await storage.delete("products/1/abc-thumb.webp")  # deleting twice is fine
    with pytest.raises(KeyNotFound):
        await storage.read("products/1/abc-thumb.webp")


async def test_local_files_are_readable_by_a_web_server_in_front(tmp_path: Path) -> None:
    # nginx serves the media folder itself (deploy/nginx/emporium.conf) as a user other than the app's.
    storage = LocalStorage(tmp_path, "/media/")
    await storage.put("products/1/abc-thumb.webp", b"bytes", "image/webp")
    mode = (tmp_path / "products" / "1" / "abc-thumb.webp").stat().st_mode & 0o777
    assert mode == 0o644


@pytest.mark.parametrize("key", UNSAFE_KEYS)
async def test_local_storage_refuses_keys_that_could_leave_its_folder(tmp_path: Path, key: str) -> None:
    root = tmp_path / "media"
    storage = LocalStorage(root, "/media")
    with pytest.raises(InvalidKey):
        await storage.put(key, b"x", "image/webp")
    with pytest.raises(InvalidKey):
        await storage.read(key)
    with pytest.raises(InvalidKey):
        await storage.delete(key)
    assert not (tmp_path / "escape.webp").exists()


async def test_local_storage_does_not_follow_a_symlink_out(tmp_path: Path) -> None:
    root = tmp_path / "media"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.webp").write_bytes(b"secret")
    root.mkdir()
    (root / "link").symlink_to(outside)
    storage = LocalStorage(root, "/media")
    with pytest.raises(InvalidKey):
        await storage.read("link/secret.webp")


async def test_local_storage_write_failure_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "products").write_bytes(b"a file where a folder should be")
    storage = LocalStorage(tmp_path, "/media")
    with pytest.raises(StorageError):
        await storage.put("products/1/a.webp", b"x", "image/webp")


async def test_s3_storage_round_trip_over_the_wire(s3_server: S3Server) -> None:
    bucket = s3_server.new_bucket()
    settings = AppSettings(**s3_server.settings(bucket))  # type: ignore[arg-type]
    storage = create_storage(settings)
    assert isinstance(storage, S3Storage)

    await storage.put("products/7/abc-large.webp", b"RIFF....WEBP", "image/webp")

    head = s3_server.client().head_object(Bucket=bucket, Key="products/7/abc-large.webp")
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == IMMUTABLE_CACHE_CONTROL
    assert await storage.read("products/7/abc-large.webp") == b"RIFF....WEBP"

    await storage.delete("products/7/abc-large.webp")
    listed = s3_server.client().list_objects_v2(Bucket=bucket)
    assert listed.get("KeyCount", 0) == 0
    with pytest.raises(KeyNotFound):
        await storage.read("products/7/abc-large.webp")
    with pytest.raises(InvalidKey):
        await storage.put("../x.webp", b"x", "image/webp")


async def test_s3_storage_failure_is_a_storage_error(s3_server: S3Server) -> None:
    settings = AppSettings(**s3_server.settings("no-such-bucket-anywhere"))  # type: ignore[arg-type]
    storage = create_storage(settings)
    with pytest.raises(StorageError):
        await storage.put("products/1/a.webp", b"x", "image/webp")


def test_s3_needs_a_bucket() -> None:
    with pytest.raises(StorageError):
        create_storage(AppSettings(media_storage="s3", s3_bucket=None))


def test_public_url_for_local_and_s3() -> None:
    key = "products/3/0123456789abcdef-thumb.webp"
    assert public_url(AppSettings(media_url_prefix="/media"), key) == f"/media/{key}"
    assert public_url(AppSettings(media_url_prefix="/static/media/"), key) == f"/static/media/{key}"
    cdn = AppSettings(media_storage="s3", s3_bucket="shop", s3_public_url="https://cdn.example.com/img/")
    assert public_url(cdn, key) == f"https://cdn.example.com/img/{key}"
    minio = AppSettings(media_storage="s3", s3_bucket="shop", s3_endpoint_url="http://minio.local:9000")
    assert public_url(minio, key) == f"http://minio.local:9000/shop/{key}"
    aws = AppSettings(media_storage="s3", s3_bucket="shop", s3_region="eu-west-1")
    assert public_url(aws, key) == f"https://shop.s3.eu-west-1.amazonaws.com/{key}"
