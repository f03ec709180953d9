"""Countries by name, postal codes and regions by country, phone numbers in E.164, and the sentences a
shopper reads instead of a validator's text."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from emporium.accounts.schemas import PHONE_REGION, AddressCreate, ProfileUpdate
from emporium.core.messages import PHONE_MESSAGE, field_name, human_message
from emporium.core.phones import normalise_phone, same_phone, to_e164
from emporium.core.places import (
    countries,
    country_name,
    normalise_country,
    normalise_postal_code,
    normalise_region,
)
from emporium.orders.schemas import OrderCreate


def test_countries_are_named_in_the_shop_locale_and_sorted_by_name() -> None:
    english = dict(countries("en_US"))
    german = dict(countries("de_DE"))
    assert english["US"] == "United States"
    assert german["US"] == "Vereinigte Staaten"
    assert english["IN"] == "India"
    assert german["DE"] == "Deutschland"
    # Groupings and reserved codes are not countries one ships to.
    assert not {"EU", "UN", "ZZ", "QO", "001"} & set(english)
    names = [name for _, name in countries("en_US")]
    assert names == sorted(names, key=str.casefold)
    assert len(english) > 240
    assert country_name("fr", "fr_FR") == "France"


@pytest.mark.parametrize("value", ["us", " US ", "Us"])
def test_a_country_code_in_any_case(value: str) -> None:
    assert normalise_country(value) == "US"


@pytest.mark.parametrize("value", ["USA", "XX", "EU", "Narnia", "", "1"])
def test_an_unknown_country_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="Choose a country from the list"):
        normalise_country(value)


@pytest.mark.parametrize(
    ("country", "typed", "stored"),
    [
        ("US", "94103", "94103"),
        ("US", "94103-1234", "94103-1234"),
        ("US", "941031234", "94103-1234"),
        ("CA", "k1a0b1", "K1A 0B1"),
        ("CA", "K1A 0B1", "K1A 0B1"),
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("GB", "SW1Y  4JH", "SW1Y 4JH"),
        ("GB", "M1 1AE", "M1 1AE"),
        ("IN", "110 001", "110001"),
        ("IN", "560034", "560034"),
        ("DE", "10115", "10115"),
        ("FR", "75001", "75001"),
        ("AU", "2000", "2000"),
        ("NL", "1012ab", "1012 AB"),
        ("PL", "00950", "00-950"),
        # A country whose format the shop does not know takes any reasonable text.
        ("BR", "01310-100", "01310-100"),
        ("JP", "100-0001", "100-0001"),
        ("KE", "00100", "00100"),
    ],
)
def test_postal_codes_are_written_as_the_country_writes_them(country: str, typed: str, stored: str) -> None:
    assert normalise_postal_code(country, typed) == stored


@pytest.mark.parametrize(
    ("country", "typed", "expected"),
    [
        ("US", "9410", "Enter a ZIP code like 94103 or 94103-1234."),
        ("US", "SW1A 1AA", "Enter a ZIP code like 94103 or 94103-1234."),
        ("CA", "12345", "Enter a postal code like K1A 0B1."),
        ("CA", "D1A 0B1", "Enter a postal code like K1A 0B1."),  # D is never a first letter
        ("GB", "12345", "Enter a postcode like SW1A 1AA."),
        ("GB", "N1", "Enter a postcode like SW1A 1AA."),
        ("IN", "011001", "Enter a PIN code like 110001."),
        ("IN", "11001", "Enter a PIN code like 110001."),
        ("DE", "1011", "Enter a postcode (Postleitzahl) like 10115."),
        ("FR", "750011", "Enter a postal code like 75001."),
        ("AU", "20000", "Enter a postcode like 2000."),
        ("BR", "<script>", "Enter the postal code: letters, digits, spaces and dashes."),
    ],
)
def test_a_postal_code_of_the_wrong_shape_is_refused_with_the_country_s_example(
    country: str, typed: str, expected: str
) -> None:
    with pytest.raises(ValueError, match=r"^Enter ") as refused:
        normalise_postal_code(country, typed)
    assert str(refused.value) == expected


def test_regions_are_checked_where_the_country_has_a_list() -> None:
    assert normalise_region("US", "california") == "CA"
    assert normalise_region("US", "ny") == "NY"
    assert normalise_region("CA", "Quebec") == "QC"
    assert normalise_region("AU", "nsw") == "NSW"
    assert normalise_region("IN", "MH") == "Maharashtra"  # India writes the state's name
    assert normalise_region("IN", "tamil nadu") == "Tamil Nadu"
    assert normalise_region("GB", "Greater London") == "Greater London"
    assert normalise_region("DE", None) is None
    with pytest.raises(ValueError, match="Enter the state"):
        normalise_region("US", None)
    with pytest.raises(ValueError, match="Enter a state of United States"):
        normalise_region("US", "Narnia")
    with pytest.raises(ValueError, match="province or territory"):
        normalise_region("CA", "Texas")


@pytest.mark.parametrize(
    ("typed", "region", "e164"),
    [
        ("+1 202 555 0100", None, "+12025550100"),
        ("(202) 555-0100", "US", "+12025550100"),
        ("2025550100", "US", "+12025550100"),
        ("1-202-555-0100", "US", "+12025550100"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("98765 43210", "IN", "+919876543210"),
        ("030 123456", "DE", "+4930123456"),
    ],
)
def test_phone_numbers_become_e164(typed: str, region: str | None, e164: str) -> None:
    assert to_e164(typed, region) == e164
    assert normalise_phone(typed, region) == e164


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("(202) 555-0100", None),
        ("+1 555 0100", None),
        ("12", "US"),
        ("call me", "US"),
        ("+" + "9" * 30, None),
    ],
)
def test_a_number_that_is_not_one_is_refused_with_the_example(typed: str, region: str | None) -> None:
    assert to_e164(typed, region) is None
    with pytest.raises(ValueError, match=r"with its country code, like \+44 20 7946 0958"):
        normalise_phone(typed, region)


@pytest.mark.parametrize("given", ["+1 202 555 0100", "(202) 555-0100", "2025550100", "12025550100"])
@pytest.mark.parametrize("stored", ["+12025550100", "+1 (202) 555-0100", "202.555.0100"])
def test_same_phone_matches_every_way_of_typing_it_against_old_and_new_rows(given: str, stored: str) -> None:
    assert same_phone(given, stored, ["US"])


def test_same_phone_refuses_other_numbers_and_keeps_the_digit_rule_for_unparsable_rows() -> None:
    assert not same_phone("(202) 555-0199", "+12025550100", ["US"])
    assert not same_phone("2025550100", "+442079460958", ["GB"])
    assert not same_phone("2025550100", None, ["US"])
    # A stored number in the order's country, typed as dialled there.
    assert same_phone("020 7946 0958", "+442079460958", ["US"])
    # A row no parser understands is matched by its digits, as before.
    assert same_phone("+1 555 0100", "+1 555 0100", ["US"])
    assert not same_phone("555", "555", ["US"])


def test_address_models_read_phone_region_and_postal_code_by_their_country() -> None:
    address = AddressCreate(
        full_name="Ada",
        line1="1 Road",
        city="Toronto",
        region="ontario",
        postal_code="m5v3l9",
        country="ca",
        phone="(416) 555-0199",
    )
    assert (address.country, address.region, address.postal_code, address.phone) == (
        "CA",
        "ON",
        "M5V 3L9",
        "+14165550199",
    )
    with pytest.raises(ValidationError) as refused:
        AddressCreate(full_name="Ada", line1="1 Road", city="Austin", postal_code="787", country="US")
    fields = {field_name(e["loc"]): human_message(field_name(e["loc"]), e) for e in refused.value.errors()}
    assert fields == {
        "region": "Enter the state.",
        "postal_code": "Enter a ZIP code like 94103 or 94103-1234.",
    }


def test_a_profile_phone_takes_the_region_from_the_context() -> None:
    assert ProfileUpdate.model_validate({"phone": "020 7946 0958"}, context={PHONE_REGION: "GB"}).phone == (
        "+442079460958"
    )
    with pytest.raises(ValidationError) as refused:
        ProfileUpdate.model_validate({"phone": "020 7946 0958"})
    assert human_message("phone", refused.value.errors()[0]) == PHONE_MESSAGE


def test_a_guest_phone_is_read_in_the_delivery_country() -> None:
    body = {
        "shipping_address": {
            "full_name": "Ada",
            "line1": "1 Road",
            "city": "London",
            "postal_code": "SW1A 1AA",
            "country": "GB",
        },
        "shipping_method_id": 1,
        "payment_method": "test",
        "guest": {"name": "Ada", "phone": "020 7946 0958", "email": "ada@example.com"},
    }
    order = OrderCreate.model_validate(body)
    assert order.guest is not None
    assert order.guest.phone == "+442079460958"


@pytest.mark.parametrize(
    ("field", "error", "expected"),
    [
        (
            "phone",
            {"type": "string_pattern_mismatch", "msg": "String should match pattern '^x$'"},
            PHONE_MESSAGE,
        ),
        (
            "email",
            {"type": "value_error", "msg": "value is not a valid email address: no @"},
            "Enter a valid",
        ),
        ("city", {"type": "missing", "msg": "Field required"}, "Enter the town or city."),
        ("city", {"type": "string_too_long", "msg": "...", "ctx": {"max_length": 100}}, "Use at most 100"),
        (
            "quantity",
            {"type": "int_parsing", "msg": "Input should be a valid integer"},
            "Enter a whole number.",
        ),
        (
            "postal_code",
            {"type": "value_error", "msg": "Value error, Enter a PIN code like 110001."},
            "Enter a PIN",
        ),
        ("anything", {"type": "something_new", "msg": "Input should be something"}, "Check this value."),
    ],
)
def test_human_messages_replace_the_validator_text(
    field: str, error: dict[str, object], expected: str
) -> None:
    message = human_message(field, error)
    assert message.startswith(expected)
    assert "should" not in message
    assert "Value error" not in message
