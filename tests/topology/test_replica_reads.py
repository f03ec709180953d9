"""The streaming replica of `emporium cluster up --replica`: anonymous product reads through nginx are
answered by the replica (counted by the app processes, summed at /metrics), while a checkout through nginx is
written on the primary and streams to the replica."""

from __future__ import annotations

import re
import secrets

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.topology.cluster_fixture import METRICS_TOKEN, Cluster

READS = 8


async def _read_sessions(http: httpx.AsyncClient) -> dict[str, float]:
    """emporium_db_read_sessions_total by server, summed over every app process."""
    answer = await http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert answer.status_code == 200, answer.text
    counts = {"primary": 0.0, "replica": 0.0}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            if sample.name == "emporium_db_read_sessions_total":
                counts[sample.labels["server"]] += sample.value
    return counts


async def _seed(cluster: Cluster) -> tuple[str, int, str]:
    db = cluster.database()
    try:
        async with db.session() as session:
            made = await make_product(session, f"Replica read {secrets.token_hex(3)}", prices=("7.00",))
            method = await make_shipping(session)
            token = await make_cart(session, [(made.variants[0], 1)])
            slug = made.product.slug
    finally:
        await db.dispose()
    await cluster.caught_up()
    return slug, method.id, token


async def _on_replica(cluster: Cluster, order_id: int) -> tuple[bool, int]:
    replica = await asyncpg.connect(cluster.replica_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        standby = bool(await replica.fetchval("SELECT pg_is_in_recovery()"))
        found = int(await replica.fetchval("SELECT count(*) FROM orders WHERE id = $1", order_id))
        return standby, found
    finally:
        await replica.close()


async def test_anonymous_reads_through_nginx_come_from_the_replica_while_checkout_works(
    cluster: Cluster,
) -> None:
    slug, method_id, token = await _seed(cluster)
    # The list and the page (a fresh query string each time: nginx's micro-cache answers a page it has kept
    # without asking the shop, and the catalog API's list is never kept).
    paths = [f"/api/v1/products?limit=5&offset={n}" for n in range(READS // 2)]
    paths += [f"/p/{slug}?from={n}" for n in range(READS // 2)]
    async with cluster.client() as anonymous:
        before = await _read_sessions(anonymous)
        for path in paths:
            answer = await anonymous.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
        after = await _read_sessions(anonymous)
        assert "Replica read" in (await anonymous.get(f"/p/{slug}?from=check")).text
    assert after["replica"] - before["replica"] >= READS, (before, after)
    assert after["primary"] == before["primary"], (before, after)

    async with cluster.client() as shopper:
        headers = {"X-Cart-Token": token, "Idempotency-Key": f"replica-{secrets.token_hex(8)}"}
        placed = await shopper.post("/api/v1/orders", json=order_body(method_id), headers=headers)
    assert placed.status_code == 201, placed.text
    order_id = int(placed.json()["data"]["id"])
    await cluster.caught_up()
    assert await _on_replica(cluster, order_id) == (True, 1)

    status = cluster.status()
    assert re.search(r"^replica +pid \d+ :\d+ up", status, re.M), status
    assert "emporium_replica" in status
