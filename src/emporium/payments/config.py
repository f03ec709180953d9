"""The payment gateways' settings, read from the same ``EMPORIUM_*`` variables as every other setting.

Each gateway has its part (``StripeSettings``...), which also holds the shop's common settings (currency,
public URL), so a gateway is typed against exactly what it reads. ``PaymentSettings`` joins them, and is
the payments' part of the app's settings (emporium/settings.py). Which methods checkout offers
(``payment_methods``) stays in the common settings: orders reads it; its production default is set here.
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from emporium.core.config import Settings

TEST_GATEWAY = "test"
# Methods that take no money online, so need nothing configured.
OFFLINE_DEFAULTS = ("cash_on_delivery",)


class GatewaySettings(Settings):
    """What every online gateway reads."""

    # Each gateway is offered only when named in payment_methods; its credentials come from its part below.
    # The *_api_base settings point a gateway at another endpoint (a sandbox, or a local fake in tests).
    payment_http_timeout_seconds: float = Field(default=20.0, gt=0, le=120)
    # A crypto amount quoted to the shopper stays fixed this long.
    crypto_quote_minutes: int = Field(default=15, ge=1, le=24 * 60)


class StripeSettings(GatewaySettings):
    # Stripe: PaymentIntents through the official SDK; webhooks signed with the endpoint secret.
    stripe_secret_key: SecretStr | None = None
    stripe_publishable_key: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None


class RazorpaySettings(GatewaySettings):
    # Razorpay: orders through the official SDK; payment signatures use the key secret, webhooks their own.
    razorpay_key_id: str | None = None
    razorpay_key_secret: SecretStr | None = None
    razorpay_webhook_secret: SecretStr | None = None
    razorpay_api_base: str | None = None


class PayPalSettings(GatewaySettings):
    # PayPal: Orders v2 over HTTP; webhooks verified by PayPal's verify-webhook-signature call.
    paypal_client_id: str | None = None
    paypal_client_secret: SecretStr | None = None
    paypal_webhook_id: str | None = None
    paypal_api_base: str = "https://api-m.sandbox.paypal.com"


class ChainSettings(GatewaySettings):
    # Bitcoin Core JSON-RPC (the same gateway, pointed at a Litecoin Core node, serves LTC).
    bitcoin_rpc_url: str | None = None
    bitcoin_rpc_user: str | None = None
    bitcoin_rpc_password: SecretStr | None = None
    bitcoin_confirmations: int = Field(default=1, ge=0, le=100)
    # Orders at or above this amount (shop currency, minor units) wait for more confirmations (seed 001).
    bitcoin_large_amount_minor: int = Field(default=1_000_000, ge=1)
    bitcoin_large_confirmations: int = Field(default=6, ge=0, le=100)
    litecoin_rpc_url: str | None = None
    litecoin_rpc_user: str | None = None
    litecoin_rpc_password: SecretStr | None = None
    litecoin_confirmations: int = Field(default=6, ge=0, le=100)
    # Seed 001's crypto payment notices at POST /webhooks/payment, signed with HMAC-SHA256 of the body.
    crypto_webhook_secret: SecretStr | None = None


class LightningSettings(GatewaySettings):
    # Lightning: LND's REST API, authenticated by an invoice macaroon (hex).
    lnd_rest_url: str | None = None
    lnd_macaroon_hex: SecretStr | None = None
    lnd_tls_cert_path: str | None = None
    lnd_invoice_expiry_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)


class PaymentSettings(StripeSettings, RazorpaySettings, PayPalSettings, ChainSettings, LightningSettings):
    """Every gateway's settings, and what production asks of the payment methods."""

    # Shown to shoppers who pay by bank transfer (account holder, IBAN, the reference to quote...).
    bank_transfer_instructions: str = (
        "Transfer the order total to the shop's account, quoting your order number as the reference."
    )

    def configured_gateways(self) -> list[str]:
        """The online gateways whose credentials are set, in the order checkout lists them, then the offline
        defaults: what production offers when EMPORIUM_PAYMENT_METHODS is not set."""
        configured = {
            "stripe": self.stripe_secret_key is not None,
            "razorpay": bool(self.razorpay_key_id and self.razorpay_key_secret),
            "paypal": bool(self.paypal_client_id and self.paypal_client_secret),
            "bitcoin": bool(self.bitcoin_rpc_url),
            "litecoin": bool(self.litecoin_rpc_url),
            "lightning": bool(self.lnd_rest_url and self.lnd_macaroon_hex),
        }
        return [name for name, ready in configured.items() if ready] + list(OFFLINE_DEFAULTS)

    def fill_production_defaults(self) -> None:
        super().fill_production_defaults()
        if "payment_methods" not in self.model_fields_set:
            self.payment_methods = self.configured_gateways()

    def production_problems(self) -> list[str]:
        problems = super().production_problems()
        if TEST_GATEWAY in self.payment_methods:
            problems.append(
                "EMPORIUM_PAYMENT_METHODS must not offer 'test' in production: "
                "its test cards take no real money"
            )
        return problems
