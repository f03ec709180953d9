"""Product media settings: where images are stored and served from, read from ``EMPORIUM_*`` variables
like every other setting. The media's part of the app's settings (emporium/settings.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from emporium.core.config import Settings


class MediaSettings(Settings):
    # Product media: local disk by default, or any S3-compatible store.
    media_storage: Literal["local", "s3"] = "local"
    media_dir: str = "./var/media"
    media_url_prefix: str = "/media"
    max_image_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_public_url: str | None = None
