"""Which gateways this shop offers: those named in ``EMPORIUM_PAYMENT_METHODS``, built from settings."""

from __future__ import annotations

from collections.abc import Callable

from emporium.core.config import Settings
from emporium.core.errors import ValidationFailed
from emporium.orders.errors import OrderError
from emporium.payments.config import PaymentSettings
from emporium.payments.gateways.base import Gateway
from emporium.payments.gateways.bitcoin.gateway import BITCOIN, LITECOIN, bitcoin, litecoin
from emporium.payments.gateways.lightning.gateway import NAME as LIGHTNING
from emporium.payments.gateways.lightning.gateway import LightningGateway
from emporium.payments.gateways.offline.gateway import (
    BANK_TRANSFER,
    CASH_ON_DELIVERY,
    bank_transfer,
    cash_on_delivery,
)
from emporium.payments.gateways.paypal.gateway import NAME as PAYPAL
from emporium.payments.gateways.paypal.gateway import PayPalGateway
from emporium.payments.gateways.razorpay.gateway import NAME as RAZORPAY
from emporium.payments.gateways.razorpay.gateway import RazorpayGateway
from emporium.payments.gateways.stripe.gateway import NAME as STRIPE
from emporium.payments.gateways.stripe.gateway import StripeGateway
from emporium.payments.gateways.test.gateway import NAME as TEST
from emporium.payments.gateways.test.gateway import TestGateway

FACTORIES: dict[str, Callable[[PaymentSettings], Gateway]] = {
    TEST: TestGateway,
    BITCOIN: bitcoin,
    LITECOIN: litecoin,
    PAYPAL: PayPalGateway,
    CASH_ON_DELIVERY: lambda _settings: cash_on_delivery(),
    BANK_TRANSFER: lambda _settings: bank_transfer(),
    LIGHTNING: LightningGateway,
    RAZORPAY: RazorpayGateway,
    STRIPE: StripeGateway,
}


def gateway(settings: Settings, name: str) -> Gateway:
    """The enabled gateway called ``name``; a 422 when the shop does not offer it."""
    if name not in settings.payment_methods or name not in FACTORIES:
        raise ValidationFailed(
            "This payment method is not offered.",
            code=OrderError.PAYMENT_METHOD_UNAVAILABLE,
            details=[{"field": "payment_method", "message": f"one of {', '.join(enabled_names(settings))}"}],
        )
    return FACTORIES[name](settings.part(PaymentSettings))


def enabled_names(settings: Settings) -> list[str]:
    return [name for name in settings.payment_methods if name in FACTORIES]


def enabled(settings: Settings) -> list[Gateway]:
    return [FACTORIES[name](settings.part(PaymentSettings)) for name in enabled_names(settings)]


def built(settings: Settings, name: str) -> Gateway | None:
    """The gateway called ``name`` whether or not the shop still offers it (a webhook or a refund for a
    payment made before it was switched off); None for a name no gateway has."""
    factory = FACTORIES.get(name)
    return factory(settings.part(PaymentSettings)) if factory is not None else None
