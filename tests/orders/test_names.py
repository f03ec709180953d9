"""The names shoppers read for an order's codes, and for a variant beside its product."""

from __future__ import annotations

import pytest

from emporium.catalog.names import line_name, variant_label
from emporium.orders.models import OrderStatus, PaymentStatus
from emporium.orders.names import (
    ORDER_STATUS_NAMES,
    PAYMENT_STATUS_NAMES,
    order_status_name,
    payment_method_name,
    payment_status_name,
)
from emporium.payments.gateways.registry import FACTORIES
from emporium.settings import AppSettings


def test_every_gateway_is_named_as_it_titles_itself() -> None:
    settings = AppSettings(payment_methods=list(FACTORIES))
    for code, factory in FACTORIES.items():
        assert payment_method_name(code) == factory(settings).title, code


def test_every_status_has_a_name() -> None:
    assert set(ORDER_STATUS_NAMES) == {s.value for s in OrderStatus}
    assert set(PAYMENT_STATUS_NAMES) == {s.value for s in PaymentStatus}
    assert order_status_name(OrderStatus.PARTIALLY_REFUNDED) == "Partly refunded"
    assert payment_status_name("awaiting") == "Awaiting payment"
    assert payment_method_name("cash_on_delivery") == "Cash on delivery"
    assert payment_method_name("gift_card") == "Gift card"  # a code no table knows still reads as words


@pytest.mark.parametrize(
    ("product", "variant", "label", "line"),
    [
        ("Kalakand", "Kalakand 1 kg", "1 kg", "Kalakand · 1 kg"),
        ("Kalakand", "kalakand - 250 g", "250 g", "Kalakand · 250 g"),
        ("Hoodie", "Hoodie (Navy, M)", "Navy, M", "Hoodie · Navy, M"),
        ("Hoodie", "Navy M", "Navy M", "Hoodie · Navy M"),
        ("Copper Mug", "Copper Mug", "", "Copper Mug"),
        ("Copper Mug", "Default Title", "", "Copper Mug"),
        ("Copper Mug", None, "", "Copper Mug"),
        ("Tea", "Teapot", "Teapot", "Tea · Teapot"),  # only a whole word is the product's name
    ],
)
def test_a_variant_is_named_by_what_tells_it_apart(
    product: str, variant: str | None, label: str, line: str
) -> None:
    assert variant_label(product, variant) == label
    assert line_name(product, variant) == line
