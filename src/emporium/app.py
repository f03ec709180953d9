"""The application factories: ``uvicorn --factory emporium.app:serve_app`` for a served shop (what
``emporium serve`` runs), ``create_app`` for an app built in-process (tests, scripts)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from emporium import __version__, install
from emporium.accounts.api import auth_router, users_router
from emporium.admin.catalog.imports import admin_import_body_limit
from emporium.admin.image_pages import upload_body_limit as admin_upload_body_limit
from emporium.admin.router import router as admin_router
from emporium.analytics.api import router as analytics_router
from emporium.cart.api import router as cart_router
from emporium.catalog.api import router as catalog_router
from emporium.catalog.csv.api import import_body_limit
from emporium.catalog.csv.api import router as csv_router
from emporium.catalog.media.api import local_media_router, upload_body_limit
from emporium.catalog.media.api import router as media_router
from emporium.catalog.media.config import MediaSettings
from emporium.catalog.search.api import router as search_router
from emporium.core import health, metrics
from emporium.core.config import Settings
from emporium.core.context import AppContext, build_context
from emporium.core.errors import install_error_handlers
from emporium.core.headers import add_security_headers
from emporium.core.logging import configure_logging
from emporium.core.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from emporium.core.outage import install_outage_handlers
from emporium.core.proxies import TrustedProxyMiddleware
from emporium.core.read_routing import ReadRouting, ReadYourWritesMiddleware
from emporium.core.request_limits import RouteLimitMiddleware
from emporium.core.sentry import init_sentry
from emporium.inventory.api import router as inventory_router
from emporium.journeys.api import router as journeys_router
from emporium.notifications.api import inbox_router, push_router
from emporium.notifications.api import router as mailbox_router
from emporium.notifications.preferences_api import router as notification_preferences_router
from emporium.notifications.webhooks.api import router as messaging_webhooks_router
from emporium.operations.api import router as health_router
from emporium.orders.api import router as orders_router
from emporium.payments.api import router as payments_router
from emporium.payments.gateways.bitcoin.api import router as crypto_payments_router
from emporium.payments.gateways.razorpay.api import router as razorpay_router
from emporium.payments.gateways.test.pages import router as payment_pages_router
from emporium.pricing.api import router as pricing_router
from emporium.reviews.api import router as reviews_router
from emporium.route_limits import (
    ROUTE_CLASSES,
    classifier,
    identifier,
    replica_path,
    signed_in_cookies,
    webhook_body_limit,
)
from emporium.settings import get_settings
from emporium.web import api_docs
from emporium.web.errors import error_pages
from emporium.web.page_cache import SharedPageCache
from emporium.web.router import router as web_router
from emporium.web.security import secure_cookies
from emporium.web.unsubscribe_pages import router as unsubscribe_router
from emporium.wishlists.api import router as wishlists_router

# Each domain router carries the full /api/v1 prefix itself (see core/params.py).
# FastAPI tries routers in this order, every route of each until one matches, and each route tried costs
# the request: the catalog, which takes most of a shop's traffic, goes first (search's paths before its
# /products/{id}), then the storefront's pages, whose paths no later router's path can match
# (tests/core/test_route_order.py), so a page no longer waits behind every API route.
DOMAIN_ROUTERS: tuple[APIRouter, ...] = (
    search_router,
    catalog_router,
    web_router,
    # One-click unsubscribe: posted by mail clients without cookies, so outside the pages' CSRF check.
    unsubscribe_router,
    admin_router,
    csv_router,
    media_router,
    auth_router,
    users_router,
    mailbox_router,
    inbox_router,
    push_router,
    notification_preferences_router,
    inventory_router,
    cart_router,
    wishlists_router,
    journeys_router,
    orders_router,
    reviews_router,
    pricing_router,
    analytics_router,
    health_router,
    payments_router,
    crypto_payments_router,
    payment_pages_router,
    razorpay_router,
    messaging_webhooks_router,
)


def create_app(
    settings: Settings | None = None, ctx: AppContext | None = None, *, freeze_heap: bool = False
) -> FastAPI:
    """The shop's app. ``freeze_heap``: once started, everything built so far is left out of the
    garbage collector's full passes (``gc.freeze``); see ``serve_app``."""
    settings = settings or (ctx.settings if ctx else get_settings())
    configure_logging(settings.log_level, json=settings.log_json)
    init_sentry(settings)
    install.wire()
    context = ctx or build_context(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        relay: asyncio.Task[None] | None = None
        if settings.jobs_run_in_process:
            relay = asyncio.create_task(context.jobs.run_forever(stop), name="emporium-jobs")
        if freeze_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            stop.set()
            if relay is not None:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(relay, timeout=10)
            if ctx is None:  # a context handed in (tests) is closed by whoever made it
                await context.close()
            metrics.process_ended()

    app = FastAPI(
        title=f"{settings.shop_name} API",
        version=__version__,
        # Served by web/api_docs.py: from the pinned package, under the shop's policy, hidden in production.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        debug=settings.debug,
        lifespan=lifespan,
    )
    app.state.ctx = context
    app.state.settings = settings
    install_error_handlers(app, pages=error_pages)
    install_outage_handlers(app, pages=error_pages)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(api_docs.router)
    for router in DOMAIN_ROUTERS:
        app.include_router(router)
    if settings.part(MediaSettings).media_storage == "local":
        app.include_router(local_media_router(settings))
    # The middleware added last is the outermost: the request id wraps everything, including a refused
    # oversized body and the answer to an unhandled exception. The shared page cache is the innermost:
    # rate limits, the request id and the security headers apply to a kept page as to a drawn one.
    app.add_middleware(SharedPageCache)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_body_bytes,
        overrides=[
            upload_body_limit(settings),
            import_body_limit(settings),
            webhook_body_limit(settings),
            admin_upload_body_limit(settings),
            admin_import_body_limit(settings),
        ],
    )
    # Counted before the body is read; keyed by the client address the proxy check below settled.
    app.add_middleware(
        RouteLimitMiddleware,
        limiter=context.limiter,
        limits={name: getattr(settings, f"rate_limit_{name}") for name in ROUTE_CLASSES},
        classify=classifier(settings),
        identify=identifier(settings, context.tokens),
        pages=error_pages,
    )
    if context.db.replica is not None:
        app.state.read_routing = ReadRouting(
            replica_path,
            signed_in_cookies(settings),
            settings.read_your_writes_seconds,
            secure_cookies=secure_cookies(settings),
        )
        app.add_middleware(ReadYourWritesMiddleware, routing=app.state.read_routing)
    if settings.trusted_proxies:
        app.add_middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxies)
    app.add_middleware(RequestContextMiddleware)
    add_security_headers(app, settings)
    return app


def serve_app() -> FastAPI:
    """The app of a served shop (one per web process). A worker holds about 250,000 objects once the
    app is built (routes, models, SQLAlchemy's mappers); each full pass of the garbage collector went over
    all of them and stopped the worker for 50 to 100 ms, once every few thousand requests, which was the
    p99 of every endpoint (BENCHMARKS.md). They live as long as the process, so they are frozen out of those
    passes. Tests build many apps in one process and use ``create_app``, whose garbage stays collectable."""
    settings = get_settings()
    if settings.metrics_dir is not None:
        metrics.use_directory(settings.metrics_dir)
    return create_app(settings, freeze_heap=True)
