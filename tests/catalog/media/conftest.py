"""Fixtures of the media tests: an app whose media folder is a temporary directory, products made
through the ORM, a signed-in admin and a signed-in customer."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.catalog.models import Product, ProductStatus, ProductVariant
from emporium.core.context import AppContext
from emporium.inventory.models import StockPool
from tests.conftest import MakeContext, sign_up
from tests.support import STRONG_PASSWORD, asgi_client, bearer, data, free_port


@dataclass
class MediaApp:
    ctx: AppContext
    client: httpx.AsyncClient
    media_dir: Path
    admin: dict[str, str]
    customer: dict[str, str]

    async def product(self, slug: str, status: str = ProductStatus.ACTIVE) -> int:
        return await make_product(self.ctx, slug, status)

    async def variant(self, product_id: int, sku: str) -> int:
        return await make_variant(self.ctx, product_id, sku)


async def make_product(ctx: AppContext, slug: str, status: str = ProductStatus.ACTIVE) -> int:
    async with ctx.db.session() as session:
        product = Product(name=slug.replace("-", " ").title(), slug=slug, status=status)
        session.add(product)
        await session.flush()
        return product.id


async def make_variant(ctx: AppContext, product_id: int, sku: str) -> int:
    async with ctx.db.session() as session:
        pool = StockPool(name=sku, on_hand=5)
        session.add(pool)
        await session.flush()
        variant = ProductVariant(product_id=product_id, sku=sku, name=sku, price_minor=1000, pool_id=pool.id)
        session.add(variant)
        await session.flush()
        return variant.id


async def admin_headers(
    ctx: AppContext, client: httpx.AsyncClient, email: str = "media-admin@example.com"
) -> dict[str, str]:
    async with ctx.db.session() as session:
        await auth.create_user(session, ctx, email=email, password=STRONG_PASSWORD, role="admin")
    tokens = data(await client.post("/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD}))
    return bearer(tokens["access_token"])


async def build_media_app(
    make_context: MakeContext, media_dir: Path, **overrides: object
) -> AsyncIterator[MediaApp]:
    ctx = make_context(media_dir=str(media_dir), **overrides)
    async with asgi_client(create_app(ctx=ctx)) as client:
        admin = await admin_headers(ctx, client)
        customer = await sign_up(client, "media-shopper@example.com")
        yield MediaApp(ctx, client, media_dir, admin, customer.headers)


@pytest.fixture
async def app(make_context: MakeContext, tmp_path: Path) -> AsyncIterator[MediaApp]:
    async for built in build_media_app(make_context, tmp_path / "media"):
        yield built


@dataclass
class S3Server:
    endpoint: str

    def settings(self, bucket: str, **overrides: object) -> dict[str, object]:
        return {
            "media_storage": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": self.endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": "test-key",
            "s3_secret_access_key": "test-secret",
            **overrides,
        }

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="test-key",
            aws_secret_access_key="test-secret",
        )

    def new_bucket(self) -> str:
        name = f"media-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible HTTP server (moto) on loopback, for the whole run."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield S3Server(f"http://127.0.0.1:{port}")
    server.stop()
