from __future__ import annotations

import httpx

from emporium.core.context import AppContext
from emporium.core.jobs.outbox import enqueue
from emporium.core.jobs.registry import register_job


async def _succeeds(_ctx: AppContext, _payload: dict[str, object]) -> None:
    return None


def _sample(text: str, prefix: str) -> float:
    for line in text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_requests_are_counted_by_route_template(client: httpx.AsyncClient) -> None:
    series = (
        'emporium_http_requests_total{method="GET",route="/api/v1/users/addresses/{address_id}",status="401"}'
    )
    before = _sample((await client.get("/metrics")).text, series)
    for address_id in (1, 2, 3):
        assert (await client.get(f"/api/v1/users/addresses/{address_id}")).status_code == 401
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert _sample(response.text, series) == before + 3
    assert "/api/v1/users/addresses/1" not in response.text


async def test_job_outcomes_are_counted(client: httpx.AsyncClient, ctx: AppContext) -> None:
    register_job("test.metrics_ok", _succeeds)
    series = 'emporium_jobs_total{job="test.metrics_ok",outcome="done"}'
    before = _sample((await client.get("/metrics")).text, series)
    async with ctx.db.session() as session:
        enqueue(session, "test.metrics_ok", {})
    await ctx.jobs.run_until_idle()
    assert _sample((await client.get("/metrics")).text, series) == before + 1
