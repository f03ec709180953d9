"""The system health report (GET /api/v1/admin/health and /admin/health): every part up; the cache and the
job broker pointed at ports nothing listens on, reported down with their reason (no password in it) and
the report still answering 200; the schema behind the code; who may read it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text, update

from emporium.app import create_app
from emporium.core.context import AppContext, build_context
from emporium.core.db import utcnow
from emporium.core.jobs import enqueue
from emporium.core.jobs.models import Job, JobStatus
from emporium.core.mail import SEND_EMAIL_JOB
from emporium.core.migrations import code_heads
from emporium.operations.health import health, reason, without_password
from tests.admin.conftest import StaffClientFactory
from tests.catalog.conftest import staff_headers
from tests.conftest import MakeContext, make_settings, sign_up
from tests.support import asgi_client, data, error, free_port

HEALTH = "/api/v1/admin/health"
SECRET = "hunter2-Secret"


async def _jobs(ctx: AppContext) -> list[int]:
    """Two pending mail jobs (one created an hour ago), one pending expiry, one dead, one done."""
    async with ctx.db.session() as session:
        made = [
            enqueue(session, SEND_EMAIL_JOB, {"to": "a@example.com"}),
            enqueue(session, SEND_EMAIL_JOB, {"to": "b@example.com"}),
            enqueue(session, "orders.expire_unpaid", {}),
            enqueue(session, SEND_EMAIL_JOB, {"to": "c@example.com"}),
            enqueue(session, SEND_EMAIL_JOB, {"to": "d@example.com"}),
        ]
        await session.flush()
        ids = [job.id for job in made]
        an_hour_ago = utcnow() - timedelta(hours=1)
        await session.execute(update(Job).where(Job.id == ids[0]).values(created_at=an_hour_ago))
        await session.execute(update(Job).where(Job.id == ids[3]).values(status=JobStatus.DEAD))
        await session.execute(update(Job).where(Job.id == ids[4]).values(status=JobStatus.DONE))
    return ids


async def test_everything_up_in_json(client: httpx.AsyncClient, ctx: AppContext) -> None:
    ids = await _jobs(ctx)
    headers = await staff_headers(client, ctx, "ops@shop.test", "admin")
    report = data(await client.get(HEALTH, headers=headers))
    assert report["status"] == "ok"
    assert report["version"] == "0.1.0"
    components = {c["name"]: c for c in report["components"]}
    assert set(components) == {"database", "cache", "broker"}
    for component in components.values():
        assert component["up"] is True, component
        assert component["error"] is None
        assert component["latency_ms"] >= 0
    assert components["cache"]["backend"] == "in-process"
    assert components["broker"]["backend"] == "in-process"
    jobs = report["jobs"]
    assert jobs["backlog"] == [
        {"kind": SEND_EMAIL_JOB, "pending": 2},
        {"kind": "orders.expire_unpaid", "pending": 1},
    ]
    assert (jobs["pending"], jobs["running"], jobs["dead"], jobs["error"]) == (3, 0, 1, None)
    oldest = jobs["oldest_pending"]
    assert (oldest["id"], oldest["kind"]) == (ids[0], SEND_EMAIL_JOB)
    assert 3590 <= oldest["age_seconds"] <= 3700
    disk = report["disk"]
    assert disk["storage"] == "local"
    assert disk["error"] is None
    assert disk["free_bytes"] > 0
    assert disk["used_bytes"] + disk["free_bytes"] <= disk["total_bytes"]
    assert report["migrations"] == {
        "database": list(code_heads()),
        "code": list(code_heads()),
        "current": True,
        "error": None,
    }


async def test_everything_up_on_the_page(ctx: AppContext, staff_client: StaffClientFactory) -> None:
    await _jobs(ctx)
    admin = await staff_client("admin")
    page = await admin.get("/admin/health")
    assert page.status_code == 200
    html = page.text
    assert '<span class="admin-badge admin-badge--success" id="health-status">ok</span>' in html
    assert html.count('data-up="yes"') == 3
    assert "Pending jobs by kind" in html
    assert f"<code>{SEND_EMAIL_JOB}</code></a></td><td>2</td>" in html
    assert 'href="/admin/jobs?state=dead">1</a>' in html
    assert "1 h 0 min" in html  # the oldest pending job's age
    assert ">current<" in html


async def test_redis_cache_and_broker_up(
    client: httpx.AsyncClient, ctx: AppContext, make_context: MakeContext
) -> None:
    """With Redis running (as the README and CI start it), both report up with their latency."""
    headers = await staff_headers(client, ctx, "ops@shop.test", "admin")
    redis = "redis://127.0.0.1:6379/10"
    served = make_context(redis_url=redis, jobs_broker_url=redis)
    async with asgi_client(create_app(ctx=served)) as http:
        report = data(await http.get(HEALTH, headers=headers))
    components = {c["name"]: c for c in report["components"]}
    assert report["status"] == "ok", components
    for name in ("cache", "broker"):
        assert components[name]["up"] is True
        assert components[name]["backend"] == "Redis at 127.0.0.1:6379/10"
        assert components[name]["latency_ms"] >= 0


@pytest.mark.parametrize(
    "broker", [f"redis://:{SECRET}@127.0.0.1:{{port}}/0", f"amqp://guest:{SECRET}@127.0.0.1:{{port}}/"]
)
async def test_a_dead_cache_and_broker_are_reported_down_not_a_500(
    client: httpx.AsyncClient,
    ctx: AppContext,
    make_context: MakeContext,
    staff_client: StaffClientFactory,
    broker: str,
) -> None:
    headers = await staff_headers(client, ctx, "ops@shop.test", "super_admin")
    signed_in = await staff_client("admin")
    port = free_port()
    broken = make_context(
        redis_url=f"redis://:{SECRET}@127.0.0.1:{port}/0", jobs_broker_url=broker.format(port=port)
    )
    async with asgi_client(create_app(ctx=broken)) as http:
        response = await http.get(HEALTH, headers=headers)
        assert SECRET not in response.text
        report = data(response)
        http.cookies = signed_in.cookies
        page = await http.get("/admin/health")
    assert report["status"] == "degraded"
    components = {c["name"]: c for c in report["components"]}
    assert components["database"]["up"] is True
    for name in ("cache", "broker"):
        assert components[name]["up"] is False
        assert components[name]["latency_ms"] is None
        assert components[name]["error"]
        assert f"127.0.0.1:{port}" in components[name]["backend"]
    assert components["cache"]["backend"].startswith("Redis at")
    assert components["broker"]["backend"].startswith("Redis at" if "redis" in broker else "RabbitMQ at")
    assert page.status_code == 200
    assert SECRET not in page.text
    assert page.text.count('data-up="no"') == 2
    assert 'id="health-status">degraded<' in page.text


async def test_a_schema_behind_the_code_is_reported(client: httpx.AsyncClient, ctx: AppContext) -> None:
    headers = await staff_headers(client, ctx, "ops@shop.test", "admin")
    async with ctx.db.session() as session:
        await session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    report = data(await client.get(HEALTH, headers=headers))
    assert report["status"] == "degraded"
    assert report["migrations"]["database"] == ["0001"]
    assert report["migrations"]["current"] is False


@pytest.mark.parametrize("role", ["support", "moderator", "customer"])
async def test_only_system_readers_see_health(
    client: httpx.AsyncClient, ctx: AppContext, staff_client: StaffClientFactory, role: str
) -> None:
    headers = await staff_headers(client, ctx, f"{role}@shop.test", role)
    assert error(await client.get(HEALTH, headers=headers), 403)["code"] == "PERMISSION_DENIED"
    if role != "customer":
        staff = await staff_client(role)
        assert (await staff.get("/admin/health")).status_code == 403
        assert (await staff.get("/admin/jobs")).status_code == 403


async def test_health_asks_for_a_sign_in(client: httpx.AsyncClient) -> None:
    assert error(await client.get(HEALTH), 401)["code"]
    shopper = await sign_up(client, "nosy@example.com")
    assert error(await client.get(HEALTH, headers=shopper.headers), 403)
    page = await client.get("/admin/health")
    assert page.status_code == 303
    assert page.headers["location"].startswith("/admin/sign-in")


def test_no_password_is_shown() -> None:
    assert without_password("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert without_password("amqp://guest:s%40cret@[::1]:5672/") == "amqp://guest:***@[::1]:5672/"
    assert without_password("redis://10.0.0.5:6379/0") == "redis://10.0.0.5:6379/0"
    failure = ConnectionError("cannot reach amqp://guest:s3cret@10.0.0.5/ (refused)\nmore lines")
    assert reason(failure, ["s3cret"]) == "ConnectionError: cannot reach amqp://guest:***@10.0.0.5/ (refused)"
    assert reason(TimeoutError(), []) == "no answer within 3 s"


async def test_a_database_that_does_not_answer_is_reported_down() -> None:
    """The report itself never fails: with the database gone it says so (the pages and the API, which
    need the database to know who asks, answer 503 then: tests/core/test_database_outage.py)."""
    gone = f"postgresql+asyncpg://shop:{SECRET}@127.0.0.1:{free_port()}/shop_test"
    context = build_context(make_settings(gone, None))
    try:
        report = await health.report(context, "9.9.9")
    finally:
        await context.close()
    assert SECRET not in report.model_dump_json()
    assert report.status == "down"
    database = report.components[0]
    assert (database.name, database.up) == ("database", False)
    assert database.backend == "PostgreSQL at 127.0.0.1:" + gone.rsplit(":", 1)[1]
    assert database.error
    assert report.jobs.error == "the database does not answer"
    assert report.migrations.current is False
    assert report.version == "9.9.9"
