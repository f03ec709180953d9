"""Where product media bytes live: a folder on local disk, or any S3-compatible object store.

Both implementations speak the same small interface and never block the event loop: file and network
calls run in a worker thread. Keys are relative, slash-separated names chosen by the shop
("products/12/3f9a...-thumb.webp"); a key that could leave the storage root is refused.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec, Protocol, TypeVar
from urllib.parse import quote

from emporium.catalog.media.config import MediaSettings
from emporium.core.config import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# Names carry the content hash, so a stored file never changes: caches may keep it for a year.
MEDIA_FILE_MODE = 0o644
IMMUTABLE_CACHE_CONTROL = "public, max-age=31536000, immutable"

_KEY_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_KEY_LENGTH = 512

P = ParamSpec("P")
R = TypeVar("R")


class StorageError(Exception):
    """The store could not be reached or refused the operation."""


class InvalidKey(StorageError):
    """The key is not a safe relative name (absolute, "..", odd characters)."""


class KeyNotFound(StorageError):
    """No object is stored under the key."""


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe relative name, else raise :class:`InvalidKey`.

    Each segment starts with a letter or digit and holds only letters, digits, ".", "_" and "-", so
    "..", ".", empty segments, absolute paths, backslashes, NUL bytes and drive letters never pass.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("empty or overlong key")
    segments = key.split("/")
    if not all(_KEY_SEGMENT.fullmatch(segment) for segment in segments):
        raise InvalidKey("unsafe key")
    return key


class Storage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def read(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing key is not an error."""
        ...

    def url(self, key: str) -> str: ...


class LocalStorage:
    """Files under ``root``; served by the app itself at ``url_prefix``."""

    def __init__(self, root: str | Path, url_prefix: str) -> None:
        self.root = Path(root).resolve()
        self.url_prefix = url_prefix.rstrip("/")

    def path_of(self, key: str) -> Path:
        check_key(key)
        path = (self.root / key).resolve()
        # Belt and braces after check_key: a symlink inside the folder must not lead out of it either.
        if not path.is_relative_to(self.root):
            raise InvalidKey("key leaves the media folder")
        return path

    def _put(self, key: str, data: bytes) -> None:
        path = self.path_of(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                # mkstemp makes the file private; these are public images that a web server in front
                # (nginx, as another user, deploy/nginx/emporium.conf) reads from disk.
                os.fchmod(handle.fileno(), MEDIA_FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            await asyncio.to_thread(self._put, key, data)
        except InvalidKey:
            raise
        except OSError as exc:
            raise StorageError(f"cannot write {key}: {exc.strerror}") from exc

    async def read(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise KeyNotFound(key) from exc
        except IsADirectoryError as exc:
            raise KeyNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc.strerror}") from exc

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        try:
            await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc.strerror}") from exc

    def url(self, key: str) -> str:
        return f"{self.url_prefix}/{quote(key, safe='/')}"


class S3Storage:
    """Objects in one bucket of any S3-compatible store (AWS, MinIO, Ceph, R2...), through boto3."""

    def __init__(self, settings: MediaSettings, client: S3Client | None = None) -> None:
        if not settings.s3_bucket:
            raise StorageError("EMPORIUM_S3_BUCKET must be set when EMPORIUM_MEDIA_STORAGE is s3")
        self.bucket = settings.s3_bucket
        self.settings = settings
        self.client = client or _s3_client(settings)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        check_key(key)
        await self._call(
            self.client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=IMMUTABLE_CACHE_CONTROL,
        )

    async def read(self, key: str) -> bytes:
        check_key(key)

        def fetch() -> bytes:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return response["Body"].read()

        from botocore.exceptions import ClientError

        try:
            return await self._call(fetch)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in {
                "NoSuchKey",
                "404",
            }:
                raise KeyNotFound(key) from cause
            raise

    async def delete(self, key: str) -> None:
        check_key(key)
        await self._call(self.client.delete_object, Bucket=self.bucket, Key=key)

    def url(self, key: str) -> str:
        return s3_url(self.settings, key)

    async def _call(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(func, *args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"object store refused the request: {type(exc).__name__}") from exc


def _s3_client(settings: MediaSettings) -> S3Client:
    import boto3
    from botocore.config import Config

    secret = settings.s3_secret_access_key
    # Stores other than AWS are usually reached by path ("endpoint/bucket/key"), not by bucket host name.
    addressing: Literal["path", "auto"] = "path" if settings.s3_endpoint_url else "auto"
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        region_name=settings.s3_region,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def s3_url(settings: MediaSettings, key: str) -> str:
    """The public address of an object: under ``s3_public_url`` (a CDN or the bucket's public host) when
    set, else the endpoint's path-style address, else the AWS virtual-host address."""
    quoted = quote(key, safe="/")
    if settings.s3_public_url:
        return f"{settings.s3_public_url.rstrip('/')}/{quoted}"
    if settings.s3_endpoint_url:
        return f"{settings.s3_endpoint_url.rstrip('/')}/{settings.s3_bucket}/{quoted}"
    return f"https://{settings.s3_bucket}.s3.{settings.s3_region}.amazonaws.com/{quoted}"


def local_url(settings: MediaSettings, key: str) -> str:
    return f"{settings.media_url_prefix.rstrip('/')}/{quote(key, safe='/')}"


def create_storage(app_settings: Settings) -> LocalStorage | S3Storage:
    settings = app_settings.part(MediaSettings)
    if settings.media_storage == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.media_dir, settings.media_url_prefix)
