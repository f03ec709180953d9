"""Prometheus metrics at /metrics: request counts and latencies by route template, and job outcomes."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from emporium.core.config import Settings
from emporium.core.errors import NotFound, Unauthorized

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "emporium_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
LATENCY = Histogram(
    "emporium_http_request_duration_seconds",
    "Time to answer HTTP requests, by method and route template.",
    ("method", "route"),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
JOBS = Counter(
    "emporium_jobs_total",
    "Background job runs, by job name and outcome (done, retry, dead).",
    ("job", "outcome"),
    registry=REGISTRY,
)

router = APIRouter(include_in_schema=False)


def _allowed(settings: Settings, authorization: str | None) -> bool:
    """With EMPORIUM_METRICS_TOKEN set, only "Bearer <token>" reads the metrics; without it they are open
    outside production and hidden in production (request counts and routes are no one else's business)."""
    token = settings.metrics_token
    if token is None:
        return settings.env != "production"
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    )


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not _allowed(settings, request.headers.get("authorization")):
        if settings.metrics_token is None:
            raise NotFound()
        raise Unauthorized("A metrics token is required.", headers={"WWW-Authenticate": "Bearer"})
    return Response(
        generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
    )
