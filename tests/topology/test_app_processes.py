"""Acceptance test 1 of the scaled-out shape: shoppers browse and check out through nginx across 3 app
processes while one of them is killed with SIGKILL. No GET fails (nginx passes it to another process), every
checkout retried with its Idempotency-Key ends in exactly one order, and the process is started again."""

from __future__ import annotations

import asyncio
import re
import secrets
import signal
import time
from collections import Counter

import httpx
from sqlalchemy import func, select

from emporium.orders.models import Order
from tests.inventory.factory import make_product
from tests.orders.factory import make_cart, make_shipping, order_body
from tests.topology.cluster_fixture import Cluster

CHECKOUTS = 40
BROWSERS = 6
# Gateway errors a client may see for a POST that was cut off in the killed process: it sends it again.
RETRIED = {502, 503, 504}
ATTEMPTS = 10


async def _seed(cluster: Cluster) -> tuple[str, int, list[str]]:
    db = cluster.database()
    try:
        async with db.session() as session:
            made = await make_product(
                session, f"Kill nine {secrets.token_hex(3)}", prices=("9.00",), on_hand=500
            )
            method = await make_shipping(session)
            tokens = [await make_cart(session, [(made.variants[0], 1)]) for _ in range(CHECKOUTS)]
            slug = made.product.slug
        # The anonymous reads of the product are the replica's: it has the product before they start.
        await cluster.caught_up()
        return slug, method.id, tokens
    finally:
        await db.dispose()


async def _browse(http: httpx.AsyncClient, paths: list[str], stop: asyncio.Event, seen: Counter[str]) -> None:
    while not stop.is_set():
        for path in paths:
            try:
                answer = await http.get(path)
                seen[str(answer.status_code)] += 1
            except httpx.TransportError as exc:
                seen[f"transport error: {exc!r}"] += 1


async def _checkout(
    http: httpx.AsyncClient, token: str, body: dict[str, object], retries: Counter[str]
) -> int:
    """POST the order until the shop answers it; the same Idempotency-Key every time. The order's id."""
    headers = {"X-Cart-Token": token, "Idempotency-Key": f"kill-nine-{secrets.token_hex(8)}"}
    for _ in range(ATTEMPTS):
        try:
            answer = await http.post("/api/v1/orders", json=body, headers=headers)
        except httpx.TransportError as exc:
            retries[type(exc).__name__] += 1
            continue
        if answer.status_code in RETRIED:
            retries[str(answer.status_code)] += 1
            continue
        assert answer.status_code == 201, answer.text
        return int(answer.json()["data"]["id"])
    raise AssertionError(f"no answer to a checkout in {ATTEMPTS} attempts")


async def _orders_of(cluster: Cluster, ids: list[int]) -> int:
    db = cluster.database()
    try:
        async with db.session() as session:
            return int(
                await session.scalar(select(func.count()).select_from(Order).where(Order.id.in_(ids))) or 0
            )
    finally:
        await db.dispose()


async def test_killing_an_app_process_under_load_fails_no_get_and_doubles_no_order(cluster: Cluster) -> None:
    slug, method_id, tokens = await _seed(cluster)
    paths = ["/", f"/p/{slug}", "/search?q=kill", "/api/v1/products?limit=5"]
    seen: Counter[str] = Counter()
    retries: Counter[str] = Counter()
    stop = asyncio.Event()
    victim = "app-2"
    async with cluster.client() as http:
        browsers = [asyncio.create_task(_browse(http, paths, stop, seen)) for _ in range(BROWSERS)]
        checkouts = [
            asyncio.create_task(_checkout(http, token, order_body(method_id), retries)) for token in tokens
        ]
        # Mid-load: some orders placed, most still to come.
        deadline = time.monotonic() + 120
        while sum(task.done() for task in checkouts) < CHECKOUTS // 4:
            assert time.monotonic() < deadline, "the checkouts did not get going"
            await asyncio.sleep(0.05)
        old_pid = cluster.kill(victim, signal.SIGKILL)
        ids = await asyncio.wait_for(asyncio.gather(*checkouts), 240)
        restarted = await cluster.wait_restarted(victim, old_pid)
        # Browsing goes on a moment with all three processes back.
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*browsers)
    print(f"\nGETs: {dict(seen)}; checkout retries after the kill: {dict(retries)}")
    assert set(seen) == {"200"}, seen
    assert seen["200"] > 100
    # One order per key, none lost, none doubled.
    assert len(set(ids)) == CHECKOUTS
    assert await _orders_of(cluster, ids) == CHECKOUTS
    assert restarted["restarts"] >= 1
    status = cluster.status()
    assert re.search(rf"^{victim} +pid {restarted['pid']} :\d+ up, restarts [1-9]", status, re.M), status
    async with cluster.client() as http:
        answers = [await http.get("/") for _ in range(6)]
    assert {answer.status_code for answer in answers} == {200}
