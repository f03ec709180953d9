"""Which payment methods checkout offers, as staff choose them in the back office.

Every gateway of the registry is listed with whether its credentials are configured (they stay in the
environment, never in the database) and whether it takes real money. Only a gateway whose credentials are
configured may be switched on, and production never offers the test gateway. The choice is kept by the
store (store/service.py) and laid over ``EMPORIUM_PAYMENT_METHODS`` for every request (store/profile.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor
from emporium.core.config import Settings
from emporium.core.errors import ValidationFailed
from emporium.orders.names import payment_method_name
from emporium.payments.config import OFFLINE_DEFAULTS, TEST_GATEWAY, PaymentSettings
from emporium.payments.gateways.registry import FACTORIES
from emporium.store.service import store_settings

OFFLINE = frozenset({*OFFLINE_DEFAULTS, "bank_transfer"})
# The variables an online gateway needs before it can be switched on.
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "stripe": ("EMPORIUM_STRIPE_SECRET_KEY",),
    "razorpay": ("EMPORIUM_RAZORPAY_KEY_ID", "EMPORIUM_RAZORPAY_KEY_SECRET"),
    "paypal": ("EMPORIUM_PAYPAL_CLIENT_ID", "EMPORIUM_PAYPAL_CLIENT_SECRET"),
    "bitcoin": ("EMPORIUM_BITCOIN_RPC_URL",),
    "litecoin": ("EMPORIUM_LITECOIN_RPC_URL",),
    "lightning": ("EMPORIUM_LND_REST_URL", "EMPORIUM_LND_MACAROON_HEX"),
}


@dataclass(frozen=True)
class MethodState:
    name: str
    title: str
    configured: bool
    # The variables to set when not configured.
    missing: tuple[str, ...]
    # "test", "live", "offline" or "node" (the network is the node's: mainnet, testnet or regtest).
    mode: str
    offered: bool


def _mode(name: str, settings: PaymentSettings) -> str:
    if name == TEST_GATEWAY:
        return "test"
    if name in OFFLINE:
        return "offline"
    if name == "stripe":
        key = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else ""
        return "test" if key.startswith(("sk_test_", "rk_test_")) else "live"
    if name == "razorpay":
        return "test" if (settings.razorpay_key_id or "").startswith("rzp_test_") else "live"
    if name == "paypal":
        return "test" if "sandbox" in settings.paypal_api_base else "live"
    return "node"


def methods(settings: Settings) -> list[MethodState]:
    """Every gateway, those checkout offers first (in its order), then the others in the registry's."""
    part = settings.part(PaymentSettings)
    configured = set(part.configured_gateways()) | OFFLINE | {TEST_GATEWAY}
    offered = [name for name in settings.payment_methods if name in FACTORIES]
    names = offered + [name for name in FACTORIES if name not in offered]
    return [
        MethodState(
            name=name,
            title=payment_method_name(name),
            configured=name in configured,
            missing=() if name in configured else CREDENTIALS.get(name, ()),
            mode=_mode(name, part),
            offered=name in offered,
        )
        for name in names
    ]


def _refusal(message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": "methods", "message": message}])


def checked(settings: Settings, chosen: list[str]) -> list[str]:
    """``chosen`` in the order of ``methods`` once checked; refused with a message naming the method."""
    states = {state.name: state for state in methods(settings)}
    unknown = [name for name in chosen if name not in states]
    if unknown:
        raise _refusal(f"There is no payment method called {unknown[0][:40]!r}.")
    for name in chosen:
        state = states[name]
        if not state.configured:
            raise _refusal(
                f"{state.title} cannot be switched on: its credentials are not configured "
                f"(set {', '.join(state.missing)} in the environment)."
            )
        if name == TEST_GATEWAY and settings.env == "production":
            raise _refusal(f"{state.title} cannot be offered in production: its test cards take no money.")
    if not chosen:
        raise _refusal("Keep at least one payment method switched on, or shoppers cannot place an order.")
    return [name for name in states if name in chosen]


async def offer(session: AsyncSession, settings: Settings, actor: Actor, chosen: list[str]) -> bool:
    """Offer exactly ``chosen`` at checkout (``settings``: the request's effective settings); False when it
    already does. Every change is audited."""
    wanted = checked(settings, chosen)
    return await store_settings.set_payment_methods(session, actor, wanted, list(settings.payment_methods))
