"""The API as its own schema describes it, fuzzed: schemathesis generates requests for every operation of
/api/openapi.json, both fitting the schema and not, sent as staff, as a customer and anonymously; no answer
may be a 5xx. A bounded number of examples per operation and role keeps the run short (a minute or two on
each database); the seed is fixed, so a failure replays."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.python import asgi
from sqlalchemy.ext.asyncio import AsyncEngine

from emporium.accounts.service import auth
from emporium.app import create_app
from emporium.core.context import build_context
from emporium.core.db import Database
from emporium.settings import AppSettings
from tests.conftest import clear_all_tables, make_settings
from tests.inventory.factory import make_brand, make_category, make_product
from tests.orders.factory import ADDRESS, make_coupon, make_shipping
from tests.support import STRONG_PASSWORD

OPENAPI = "/api/openapi.json"
# Examples per operation, per role and per generation mode: 3 roles x 2 modes x this many requests each.
EXAMPLES = 3
STAFF = "fuzz-staff@example.com"
CUSTOMER = "fuzz-customer@example.com"


@dataclass
class Run:
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    by_status: dict[int, int] = field(default_factory=dict)


async def _seed(url: str) -> dict[str, Any]:
    """A staff member, a customer and a small catalog, committed for the app under test to find; the ids
    of what path parameters may name."""
    database = Database(url)
    ctx = build_context(make_settings(url, None), db=database)
    try:
        async with database.session() as session:
            await auth.create_user(session, ctx, email=STAFF, password=STRONG_PASSWORD, role="admin")
            await auth.create_user(session, ctx, email=CUSTOMER, password=STRONG_PASSWORD, role="customer")
            category = await make_category(session, "Fuzzed shirts")
            brand = await make_brand(session, "Fuzzed brand")
            made = await make_product(
                session, "Fuzzed tee", prices=("12.00", "14.00"), on_hand=50, category=category, brand=brand
            )
            method = await make_shipping(session)
            coupon = await make_coupon(session, "FUZZ10", usage_limit=1000)
            return {
                "product_id": made.product.id,
                "id_or_slug": made.product.slug,
                "variant_id": made.variants[0].id,
                "pool_id": made.pools[0].id,
                "category_id": category.id,
                "brand_id": brand.id,
                "method_id": method.id,
                "zone_id": method.zone_id,
                "coupon_id": coupon.id,
            }
    finally:
        await ctx.jobs.stop()
        await ctx.cache.close()
        await database.dispose()


def _explore(
    run: Run,
    operation: Any,
    mode: GenerationMode,
    role: str,
    headers: dict[str, str],
    path_parameters: dict[str, Any] | None = None,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def send(case: Any) -> None:
        response = case.call(headers=headers)
        run.requests += 1
        run.by_status[response.status_code] = run.by_status.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            run.failures.append(
                f"{response.status_code} as {role}: {case.as_curl_command(headers=headers)}"
                f"\n  {response.text[:300]}"
            )

    try:
        send()
    except Unsatisfiable:
        # Nothing of the operation can be made invalid (no parameters, no body): its positive run covers it.
        assert mode is GenerationMode.NEGATIVE, operation.label


def _customer_objects(client: Any, headers: dict[str, str], ids: dict[str, Any]) -> dict[str, Any]:
    """The customer's address, a placed order and a cart line, made through the API."""
    address = client.post("/api/v1/users/addresses", json=ADDRESS, headers=headers)
    assert address.status_code == 201, address.text
    address_id = address.json()["data"]["id"]

    def add_line() -> Any:
        line = client.post("/api/v1/cart/items", json={"variant_id": ids["variant_id"]}, headers=headers)
        assert line.status_code == 201, line.text
        return line.json()["data"]

    add_line()
    order = client.post(
        "/api/v1/orders",
        json={
            "address_id": address_id,
            "shipping_method_id": ids["method_id"],
            "payment_method": "cash_on_delivery",
        },
        headers=headers,
    )
    assert order.status_code == 201, order.text
    cart = add_line()  # the order emptied the cart: a line to fuzz the cart's item routes with
    return {
        "address_id": address_id,
        "order_id": order.json()["data"]["id"],
        "cart_item_id": cart["items"][0]["id"],
    }


def _fuzz(app_settings: AppSettings, ids: dict[str, Any]) -> Run:
    """Every operation, as each role, in schemathesis's own ASGI transport (its event loop thread)."""
    app = create_app(app_settings)  # it owns its context: the lifespan's end closes it in that loop
    run = Run()
    try:
        schema = schemathesis.openapi.from_asgi(OPENAPI, app)
        client = asgi.get_client(app)

        def signed_in(email: str) -> dict[str, str]:
            answer = client.post("/api/v1/auth/login", json={"email": email, "password": STRONG_PASSWORD})
            assert answer.status_code == 200, answer.text
            return {"Authorization": f"Bearer {answer.json()['data']['access_token']}"}

        ids.update(_customer_objects(client, signed_in(CUSTOMER), ids))
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 50, "the schema lost its operations"
        for operation in operations:
            # Signed in afresh for each operation: a fuzzed POST /auth/logout ends the session it is sent in.
            roles = {"anonymous": {}, "staff": signed_in(STAFF), "customer": signed_in(CUSTOMER)}
            for role, headers in roles.items():
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _explore(run, operation, mode, role, headers)
            # Then at objects that exist, so the requests get past the lookup to the rules behind it.
            names = {parameter.name for parameter in operation.path_parameters}
            if names and names <= ids.keys():
                fixed = {name: ids[name] for name in names}
                for role in ("staff", "customer"):
                    _explore(run, operation, GenerationMode.POSITIVE, role, roles[role], fixed)
    finally:
        asgi.shutdown_lifespans()
    return run


async def test_no_operation_answers_5xx_to_fuzzed_requests(
    engine: AsyncEngine, settings: AppSettings
) -> None:
    await clear_all_tables(engine)
    try:
        ids = await _seed(settings.database_url)
        fuzz_settings = make_settings(settings.database_url, None, jobs_run_in_process=False)
        started = time.perf_counter()
        run = await asyncio.to_thread(_fuzz, fuzz_settings, ids)
        took = time.perf_counter() - started
    finally:
        await clear_all_tables(engine)
    print(f"fuzzed {run.requests} requests in {took:.1f} s: {dict(sorted(run.by_status.items()))}")
    assert run.requests > 1000
    assert run.failures == [], "\n".join(run.failures)
