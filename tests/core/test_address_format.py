"""Addresses written as the destination country's post writes them, ending with the country's name."""

from __future__ import annotations

from emporium.core.address_format import address_lines

GRACE = {"full_name": "Grace Hopper", "line1": "1 Navy Yard", "city": "Arlington", "region": "VA"}


def test_each_country_in_its_own_layout_with_its_name() -> None:
    assert address_lines({**GRACE, "postal_code": "22202", "country": "US"}, "en_US") == [
        "Grace Hopper",
        "1 Navy Yard",
        "Arlington, VA 22202",
        "United States",
    ]
    berlin = {"full_name": "Ada", "line1": "Unter den Linden 5", "city": "Berlin", "postal_code": "10117"}
    assert address_lines({**berlin, "country": "DE"}, "en_US")[-2:] == ["10117 Berlin", "Germany"]
    assert address_lines({**berlin, "country": "DE"}, "de_DE")[-1] == "Deutschland"
    london = {"full_name": "Ada", "line1": "10 Downing St", "city": "London", "postal_code": "SW1A 2AA"}
    assert address_lines({**london, "country": "GB"}, "en_GB")[-3:] == [
        "London",
        "SW1A 2AA",
        "United Kingdom",
    ]


def test_missing_parts_leave_no_gap_and_unknown_countries_keep_every_part() -> None:
    lines = address_lines(
        {**GRACE, "region": None, "line2": "Flat 2", "postal_code": "22202", "country": "US"}, "en_US"
    )
    assert lines == ["Grace Hopper", "1 Navy Yard", "Flat 2", "Arlington, 22202", "United States"]
    assert address_lines({**GRACE, "postal_code": "1000", "country": "TV"}, "en_US") == [
        "Grace Hopper",
        "1 Navy Yard",
        "Arlington",
        "VA",
        "1000",
        "Tuvalu",
    ]
