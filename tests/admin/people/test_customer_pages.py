"""``/admin/customers``: search (phone in any format), keyset pages, CSV export, a customer's page,
deactivation, and the GDPR export and erasure, with the permissions each needs."""

from __future__ import annotations

import csv
import io
import json
import re

import httpx
from sqlalchemy import select

from emporium.accounts.models import AuthSession, User
from emporium.accounts.service import auth
from emporium.audit.models import AuditEntry
from emporium.core.context import AppContext
from emporium.orders.models import Order
from emporium.payments.models import PaymentTransaction
from tests.admin.conftest import StaffClientFactory
from tests.admin.people.helpers import post, user
from tests.conftest import Shopper, sign_up
from tests.support import STRONG_PASSWORD, bearer, data, error

NEXT_PAGE = re.compile(r'<a class="button" href="(/admin/customers\?[^"]+)" rel="next">')


async def _ada(client: httpx.AsyncClient) -> Shopper:
    return await sign_up(
        client, "ada@example.com", first_name="Ada", last_name="Lovelace", phone="+1 202 555 0143"
    )


def _id(shopper: Shopper) -> int:
    account = shopper.tokens["user"]
    assert isinstance(account, dict)
    return int(account["id"])


async def _order(ctx: AppContext, user_id: int, number: str, total: int, captured: int, refunded: int) -> int:
    async with ctx.db.session() as session:
        order = Order(
            number=number,
            user_id=user_id,
            contact_name="Ada Lovelace",
            contact_email="ada@example.com",
            contact_phone="+12025550143",
            status="confirmed",
            payment_status="paid",
            payment_method="test",
            currency="USD",
            subtotal_minor=total,
            total_minor=total,
            shipping_method_name="Post",
            shipping_address={"full_name": "Ada Lovelace", "line1": "1 Way", "city": "Reno", "country": "US"},
            billing_address={"full_name": "Ada Lovelace", "line1": "1 Way", "city": "Reno", "country": "US"},
        )
        session.add(order)
        await session.flush()
        moves = [
            ("capture", "succeeded", captured),
            ("refund", "succeeded", refunded),
            ("capture", "failed", 999),
        ]
        session.add_all(
            PaymentTransaction(
                order_id=order.id,
                kind=kind,
                status=status,
                amount_minor=amount,
                currency="USD",
                gateway="test",
            )
            for kind, status, amount in moves
            if amount
        )
        return order.id


async def test_search_by_phone_in_any_format_email_and_name(
    staff_client: StaffClientFactory, client: httpx.AsyncClient
) -> None:
    ada = await _ada(client)
    await sign_up(
        client, "grace@example.com", first_name="Grace", last_name="Hopper", phone="+44 20 7946 0958"
    )
    agent = await staff_client("support")
    for query in (
        "(202) 555-0143",
        "202.555.0143",
        "+1 202-555-0143",
        "12025550143",
        "ada@",
        "LOVELACE",
        "ada lovelace",
    ):
        found = await agent.get("/admin/customers", params={"q": query})
        assert found.status_code == 200, query
        assert f'href="/admin/customers/{_id(ada)}"' in found.text, query
        assert "grace@example.com" not in found.text, query
    uk = await agent.get("/admin/customers", params={"q": "+44 20 7946 0958"})
    assert "grace@example.com" in uk.text
    for query in ("(202) 555-0199", "nobody", "100%", "a_a"):
        empty = await agent.get("/admin/customers", params={"q": query})
        assert "No customer matches" in empty.text, query
    # Staff accounts are not customers.
    everyone = await agent.get("/admin/customers")
    assert f'href="/admin/customers/{agent.user_id}"' not in everyone.text
    assert f'href="/admin/customers/{_id(ada)}"' in everyone.text


async def test_pages_follow_one_another_without_gaps(
    staff_client: StaffClientFactory, ctx: AppContext
) -> None:
    async with ctx.db.session() as session:
        for i in range(53):
            await auth.create_user(
                session, ctx, email=f"c{i:02d}@example.com", password=STRONG_PASSWORD, role="customer"
            )
    admin = await staff_client("admin")
    seen: list[str] = []
    url: str | None = "/admin/customers?q=example.com"
    pages = 0
    while url:
        page = await admin.get(url.replace("&amp;", "&"))
        assert page.status_code == 200
        seen += re.findall(r">(c\d\d@example\.com)</a>", page.text)
        found = NEXT_PAGE.search(page.text)
        url = found.group(1) if found else None
        pages += 1
    assert pages == 2
    assert sorted(seen) == [f"c{i:02d}@example.com" for i in range(53)]
    assert seen[0] == "c52@example.com"  # newest first


async def test_csv_export_of_a_search(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    async with ctx.db.session() as session:
        await auth.create_user(
            session,
            ctx,
            email="formula@example.com",
            password=STRONG_PASSWORD,
            role="customer",
            first_name="=HYPERLINK(1)",
        )
        await auth.create_user(
            session, ctx, email="other@example.org", password=STRONG_PASSWORD, role="customer"
        )
    admin = await staff_client("admin")
    response = await admin.get("/admin/customers", params={"q": "example.com", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "id",
        "email",
        "first_name",
        "last_name",
        "phone",
        "status",
        "created_at",
        "last_login_at",
    ]
    assert [row[1] for row in rows[1:]] == ["formula@example.com"]
    assert rows[1][2] == "'=HYPERLINK(1)"
    assert rows[1][5] == "active"


async def test_a_customers_page(
    staff_client: StaffClientFactory, client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await _ada(client)
    address = {
        "full_name": "Ada Lovelace",
        "phone": "+1 202 555 0100",
        "line1": "12 Main Street",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
    }
    data(await client.post("/api/v1/users/addresses", json=address, headers=ada.headers), 201)
    await client.put(
        "/api/v1/users/preferences/notifications",
        json={"choices": [{"category": "orders", "channel": "sms", "enabled": True}]},
        headers=ada.headers,
    )
    await _order(ctx, _id(ada), "ORD-2026-900001", 5000, 5000, 1500)
    await _order(ctx, _id(ada), "ORD-2026-900002", 2500, 2500, 0)
    agent = await staff_client("support")
    page = await agent.get(f"/admin/customers/{_id(ada)}")
    assert page.status_code == 200
    text = page.text
    assert "ORD-2026-900001" in text
    assert "ORD-2026-900002" in text
    assert "$60.00" in text  # 50.00 + 25.00 captured, less 15.00 refunded; the failed capture does not count
    assert "12 Main Street" in text
    assert "Springfield" in text
    assert "Orders: <strong>email, sms, push</strong>" in text
    assert "Marketing: <strong>nothing</strong>" in text
    assert "live" in text  # the session signed in through the API
    # Support reads, but is offered no change.
    assert "/deactivate" not in text
    assert "/erase" not in text
    admin = await staff_client("admin")
    assert (
        f'action="/admin/customers/{_id(ada)}/deactivate"'
        in (await admin.get(f"/admin/customers/{_id(ada)}")).text
    )


async def test_deactivation_ends_sessions_and_sign_in_until_reactivated(
    staff_client: StaffClientFactory, client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await _ada(client)
    admin = await staff_client("admin")
    done = await post(admin, f"/admin/customers/{_id(ada)}/deactivate")
    assert done.status_code == 303
    assert "deactivated" in (await admin.get(done.headers["location"])).text
    assert (
        error(await client.get("/api/v1/users/profile", headers=ada.headers), 401)["code"] == "SESSION_ENDED"
    )
    login = {"email": ada.email, "password": ada.password}
    assert error(await client.post("/api/v1/auth/login", json=login), 401)["code"] == "INVALID_CREDENTIALS"
    async with ctx.db.session() as session:
        reasons = (
            await session.scalars(select(AuthSession.revoked_reason).where(AuthSession.user_id == _id(ada)))
        ).all()
        assert set(reasons) == {"deactivated"}

    assert (await post(admin, f"/admin/customers/{_id(ada)}/reactivate")).status_code == 303
    tokens = data(await client.post("/api/v1/auth/login", json=login))
    data(await client.get("/api/v1/users/profile", headers=bearer(tokens["access_token"])))
    async with ctx.db.session() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        assert [(e.action, e.object_id, e.actor_email) for e in entries] == [
            ("customer.deactivated", str(_id(ada)), admin.email),
            ("customer.reactivated", str(_id(ada)), admin.email),
        ]


async def test_gdpr_export_and_erasure(
    staff_client: StaffClientFactory, client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await _ada(client)
    order_id = await _order(ctx, _id(ada), "ORD-2026-900003", 4000, 4000, 0)
    admin = await staff_client("admin")
    exported = await post(admin, f"/admin/customers/{_id(ada)}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "application/json"
    assert f"customer-{_id(ada)}-export.json" in exported.headers["content-disposition"]
    body = json.loads(exported.content)
    assert body["account"]["email"] == "ada@example.com"
    assert body["account"]["phone"] == "+12025550143"

    wrong = await post(admin, f"/admin/customers/{_id(ada)}/erase", confirm_email="someone@example.com")
    assert wrong.status_code == 422
    assert "e-mail address to confirm the erasure; nothing was erased" in wrong.text
    assert (await user(ctx, _id(ada))).email == "ada@example.com"

    erased = await post(admin, f"/admin/customers/{_id(ada)}/erase", confirm_email="ADA@example.com ")
    assert erased.status_code == 303
    page = await admin.get(erased.headers["location"])
    assert "erased" in page.text
    assert "/erase" not in page.text
    row = await user(ctx, _id(ada))
    assert (row.email, row.phone, row.first_name, row.is_active) == (
        f"erased-{_id(ada)}@erased.invalid",
        None,
        None,
        False,
    )
    async with ctx.db.session() as session:
        order = await session.get(Order, order_id)
        assert order is not None
        # The books stay: the order and its amounts, without the contact details.
        assert (order.total_minor, order.contact_email) == (4000, f"erased-{_id(ada)}@erased.invalid")
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
        assert actions == ["customer.exported", "customer.erased"]
        labels = (await session.scalars(select(AuditEntry.object_label))).all()
        assert all("ada" not in (label or "") for label in labels)
    login = {"email": "ada@example.com", "password": ada.password}
    assert error(await client.post("/api/v1/auth/login", json=login), 401)["code"] == "INVALID_CREDENTIALS"
    # Erased is final: nothing more to export, erase or reactivate.
    for action in ("export", "reactivate", "deactivate"):
        assert (await post(admin, f"/admin/customers/{_id(ada)}/{action}")).status_code == 409, action
    again = await post(admin, f"/admin/customers/{_id(ada)}/erase", confirm_email=row.email)
    assert again.status_code == 409


async def test_permissions_and_forged_posts(
    staff_client: StaffClientFactory, client: httpx.AsyncClient, ctx: AppContext
) -> None:
    ada = await _ada(client)
    agent = await staff_client("support")
    moderator = await staff_client("moderator")
    assert (await moderator.get("/admin/customers")).status_code == 403
    assert (await moderator.get(f"/admin/customers/{_id(ada)}")).status_code == 403
    assert (await agent.get("/admin/customers")).status_code == 200
    for action, fields in (
        ("deactivate", {}),
        ("reactivate", {}),
        ("export", {}),
        ("erase", {"confirm_email": "ada@example.com"}),
    ):
        refused = await post(agent, f"/admin/customers/{_id(ada)}/{action}", **fields)
        assert refused.status_code == 403, action
        assert "Your role does not allow this" in refused.text
    admin = await staff_client("admin")
    # Without the CSRF token even an admin's post changes nothing.
    forged = await admin.post(f"/admin/customers/{_id(ada)}/deactivate")
    assert forged.status_code == 403
    assert (await user(ctx, _id(ada))).is_active
    async with ctx.db.session() as session:
        assert (await session.scalars(select(AuditEntry))).first() is None
        still = await session.get(User, _id(ada))
        assert still is not None
        assert still.email == "ada@example.com"


async def test_hostile_input(staff_client: StaffClientFactory, ctx: AppContext) -> None:
    admin = await staff_client("admin")
    for params in (
        {"q": "x" * 101},
        {"q": "nul\x00here"},
        {"after": "not a cursor!"},
        {"after": "bm90IGpzb24"},
        {"after": "WyJ4IiwiMSJd"},
        {"format": "xlsx"},
    ):
        response = await admin.get("/admin/customers", params=params)
        assert response.status_code == 422, params
        assert "text/html" in response.headers["content-type"]
    for url, status in (
        ("/admin/customers/999999", 404),
        (f"/admin/customers/{admin.user_id}", 404),
        ("/admin/customers/0", 422),
        ("/admin/customers/abc", 422),
        (f"/admin/customers/{2**63}", 422),
    ):
        assert (await admin.get(url)).status_code == status, url
        assert (await post(admin, f"{url}/deactivate")).status_code == status, url
    # A staff account is never deactivated or erased through the customer screens.
    assert (
        await post(admin, f"/admin/customers/{admin.user_id}/erase", confirm_email=admin.email)
    ).status_code == 404
    assert (await user(ctx, admin.user_id)).is_active
    long = await post(admin, "/admin/customers/1/erase", confirm_email="a" * 400)
    assert long.status_code == 422


async def test_the_global_search_finds_customers_for_roles_that_may_read_them(
    staff_client: StaffClientFactory, client: httpx.AsyncClient
) -> None:
    ada = await _ada(client)
    agent = await staff_client("support")
    found = await agent.get("/admin/search", params={"q": "(202) 555-0143"})
    assert found.status_code == 200
    assert f'href="/admin/customers/{_id(ada)}"' in found.text
    assert "Ada Lovelace · +12025550143" in found.text
    moderator = await staff_client("moderator")
    hidden = await moderator.get("/admin/search", params={"q": "(202) 555-0143"})
    assert f'href="/admin/customers/{_id(ada)}"' not in hidden.text
