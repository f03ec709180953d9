"""Address book: CRUD, exactly one default address, and nobody reaches another customer's addresses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from emporium.accounts.models import Address
from emporium.core.context import AppContext
from tests.accounts.helpers import user_id_of
from tests.conftest import Shopper, sign_up
from tests.support import data, error

ADDRESSES = "/api/v1/users/addresses"


def address(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "label": "Home",
        "full_name": "Ada Lovelace",
        "phone": "+44 20 7946 0000",
        "line1": "12 St James's Square",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country": "gb",
    }
    body.update(overrides)
    return body


async def _add(shopper: Shopper, **overrides: Any) -> dict[str, Any]:
    created: dict[str, Any] = data(
        await shopper.client.post(ADDRESSES, json=address(**overrides), headers=shopper.headers), 201
    )
    return created


async def _list(shopper: Shopper) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = data(await shopper.client.get(ADDRESSES, headers=shopper.headers))
    return listed


async def _defaults(shopper: Shopper) -> list[int]:
    return [a["id"] for a in await _list(shopper) if a["is_default"]]


async def test_address_crud(client: httpx.AsyncClient, shopper: Shopper) -> None:
    assert await _list(shopper) == []
    created = await _add(shopper, line2="Flat 3", region="Greater London")
    assert created["country"] == "GB"  # normalised
    assert created["is_default"] is True  # the first address is the default
    assert created["line2"] == "Flat 3"
    for stamp in ("created_at", "updated_at"):
        assert created[stamp]

    url = f"{ADDRESSES}/{created['id']}"
    assert data(await client.get(url, headers=shopper.headers)) == created

    updated = data(await client.put(url, json={"city": "Oxford", "line2": None}, headers=shopper.headers))
    assert (updated["city"], updated["line2"], updated["line1"]) == ("Oxford", None, created["line1"])
    assert data(await client.get(url, headers=shopper.headers))["city"] == "Oxford"
    assert await _list(shopper) == [updated]

    assert data(await client.delete(url, headers=shopper.headers)) is None
    assert error(await client.get(url, headers=shopper.headers), 404)["code"] == "ADDRESS_NOT_FOUND"
    assert await _list(shopper) == []


async def test_exactly_one_default_address(
    client: httpx.AsyncClient, ctx: AppContext, shopper: Shopper
) -> None:
    first = await _add(shopper, label="Home")
    second = await _add(shopper, label="Work")
    assert second["is_default"] is False
    assert await _defaults(shopper) == [first["id"]]

    # A new address asked to be the default takes it over.
    third = await _add(shopper, label="Parents", is_default=True)
    assert third["is_default"] is True
    assert await _defaults(shopper) == [third["id"]]
    assert (await _list(shopper))[0]["id"] == third["id"]  # the default comes first

    # Making another one the default moves it.
    moved = data(
        await client.put(f"{ADDRESSES}/{second['id']}", json={"is_default": True}, headers=shopper.headers)
    )
    assert moved["is_default"] is True
    assert await _defaults(shopper) == [second["id"]]

    # Un-defaulting the default hands it to another address.
    handed = data(
        await client.put(f"{ADDRESSES}/{second['id']}", json={"is_default": False}, headers=shopper.headers)
    )
    assert handed["is_default"] is False
    assert len(await _defaults(shopper)) == 1
    assert await _defaults(shopper) != [second["id"]]

    # Deleting the default promotes another one.
    current = (await _defaults(shopper))[0]
    data(await client.delete(f"{ADDRESSES}/{current}", headers=shopper.headers))
    remaining = await _list(shopper)
    assert len(remaining) == 2
    assert [a["is_default"] for a in remaining].count(True) == 1

    # Deleting a non-default address leaves the default alone.
    default_id = (await _defaults(shopper))[0]
    other = next(a["id"] for a in remaining if a["id"] != default_id)
    data(await client.delete(f"{ADDRESSES}/{other}", headers=shopper.headers))
    assert await _defaults(shopper) == [default_id]

    async with ctx.db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Address)
            .where(Address.user_id == user_id_of(shopper), Address.is_default.is_(True))
        )
    assert count == 1


async def test_the_only_address_stays_the_default(client: httpx.AsyncClient, shopper: Shopper) -> None:
    only = await _add(shopper)
    kept = data(
        await client.put(f"{ADDRESSES}/{only['id']}", json={"is_default": False}, headers=shopper.headers)
    )
    assert kept["is_default"] is True
    data(await client.delete(f"{ADDRESSES}/{only['id']}", headers=shopper.headers))
    again = await _add(shopper, is_default=False)
    assert again["is_default"] is True


async def test_default_is_per_customer(client: httpx.AsyncClient, shopper: Shopper) -> None:
    mine = await _add(shopper)
    bob = await sign_up(client, "bob@example.com")
    theirs = await _add(bob, full_name="Bob", is_default=True)
    assert theirs["is_default"] is True
    assert await _defaults(shopper) == [mine["id"]]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_another_customers_address_is_not_found(
    client: httpx.AsyncClient, shopper: Shopper, method: str
) -> None:
    bob = await sign_up(client, "bob@example.com")
    theirs = await _add(bob, full_name="Bob Builder")
    url = f"{ADDRESSES}/{theirs['id']}"
    body = {"city": "Hacked"} if method == "PUT" else None

    response = await client.request(method, url, json=body, headers=shopper.headers)

    assert error(response, 404)["code"] == "ADDRESS_NOT_FOUND"
    # Bob's address is untouched.
    assert data(await client.get(url, headers=bob.headers)) == theirs


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    ("address_id", "status"),
    [
        ("99999999999999999999", 422),
        ("9223372036854775808", 422),
        ("0", 422),
        ("-1", 422),
        ("abc", 422),
        ("1.5", 422),
        ("9223372036854775807", 404),
    ],
)
async def test_odd_address_ids_are_refused_not_crashed(
    client: httpx.AsyncClient, shopper: Shopper, method: str, address_id: str, status: int
) -> None:
    body = {"city": "Nowhere"} if method == "PUT" else None
    response = await client.request(method, f"{ADDRESSES}/{address_id}", json=body, headers=shopper.headers)
    err = error(response, status)
    if status == 422:
        assert [d["field"] for d in err["details"]] == ["address_id"]


@pytest.mark.parametrize("country", ["GBR", "G", "12", "", "Ü1", "ÄÖ", None, 44])
async def test_invalid_country_is_refused(
    client: httpx.AsyncClient, shopper: Shopper, country: object
) -> None:
    err = error(await client.post(ADDRESSES, json=address(country=country), headers=shopper.headers), 422)
    assert [d["field"] for d in err["details"]] == ["country"]
    created = await _add(shopper)
    err = error(
        await client.put(f"{ADDRESSES}/{created['id']}", json={"country": country}, headers=shopper.headers),
        422,
    )
    assert [d["field"] for d in err["details"]] == ["country"]


async def test_address_validation_names_each_field(client: httpx.AsyncClient, shopper: Shopper) -> None:
    err = error(
        await client.post(ADDRESSES, json={"label": "x" * 51, "phone": "nope"}, headers=shopper.headers), 422
    )
    assert {d["field"] for d in err["details"]} == {
        "label",
        "phone",
        "full_name",
        "line1",
        "city",
        "postal_code",
        "country",
    }


async def test_required_address_fields_cannot_be_emptied(client: httpx.AsyncClient, shopper: Shopper) -> None:
    created = await _add(shopper)
    url = f"{ADDRESSES}/{created['id']}"
    for field in ("full_name", "line1", "city", "postal_code"):
        for value in (None, "", "   "):
            err = error(await client.put(url, json={field: value}, headers=shopper.headers), 422)
            assert [d["field"] for d in err["details"]] == [field]
    assert data(await client.get(url, headers=shopper.headers)) == created


async def test_mass_assignment_in_addresses_is_ignored(client: httpx.AsyncClient, shopper: Shopper) -> None:
    bob = await sign_up(client, "bob@example.com")
    created = await _add(shopper, user_id=user_id_of(bob), id=424242)
    assert created["id"] != 424242
    assert await _list(bob) == []
    assert [a["id"] for a in await _list(shopper)] == [created["id"]]
    data(
        await client.put(
            f"{ADDRESSES}/{created['id']}", json={"user_id": user_id_of(bob)}, headers=shopper.headers
        )
    )
    assert await _list(bob) == []


async def test_addresses_need_a_session(client: httpx.AsyncClient) -> None:
    error(await client.get(ADDRESSES), 401)
    error(await client.post(ADDRESSES, json=address()), 401)
    error(await client.get(f"{ADDRESSES}/1"), 401)
