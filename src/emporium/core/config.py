"""Settings, read from the environment (prefix ``EMPORIUM_``) and an optional ``.env`` file.

``Settings`` holds what the whole shop reads. A domain with settings of its own declares them in its own
``config.py`` as a subclass (payments/config.py, catalog/media/config.py, notifications/config.py), and
``emporium.settings.AppSettings`` is built from all of them: one object, one flat set of variable names.
Core code sees only this part; a domain reaches its own with ``settings.part(PaymentSettings)``."""

from __future__ import annotations

import json
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale, UnknownLocaleError
from limits import parse as parse_limit
from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from emporium.core.production import MAKE_A_SECRET, production_problems, weak_secret

# Published in the source, so it must never protect a real shop: production refuses it.
DEFAULT_SECRET_KEY = "insecure-development-key-change-me"  # noqa: S105
MIN_SECRET_LENGTH = 32


class ConfigurationError(RuntimeError):
    """A setting makes the app unsafe or unable to start; the message names it."""


S = TypeVar("S", bound="Settings")


class Settings(BaseSettings):
    """The settings every part of the shop reads; the app's settings add each domain's (see above)."""

    model_config = SettingsConfigDict(env_prefix="EMPORIUM_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    debug: bool = False
    shop_name: str = "Emporium"
    # Where shoppers reach the shop: links in e-mails, sitemaps, canonical URLs, payment returns. Unset, it
    # follows the port the shop is served on (EMPORIUM_PORT, which `emporium serve --port` sets).
    public_url: str = "http://127.0.0.1:8000"
    port: int | None = Field(default=None, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)

    database_url: str = "sqlite+aiosqlite:///./var/emporium.db"
    database_echo: bool = False
    # Scaled out (docs/scaling-database.md): a streaming replica that anonymous catalog, search and storefront
    # reads go to while it is at most ``replica_max_lag_seconds`` behind; a client's own reads stay on the
    # primary for ``read_your_writes_seconds`` after each of its writes.
    database_replica_url: str | None = None
    replica_max_lag_seconds: float = Field(default=2.0, gt=0, le=3600)
    read_your_writes_seconds: float = Field(default=5.0, ge=0, le=3600)
    # "pgbouncer": the URLs lead to PgBouncer in transaction mode, so no statement is kept prepared on a
    # server connection and no setting is sent at connect (PgBouncer refuses them).
    database_pooler: Literal["none", "pgbouncer"] = "none"
    # Migrations (emporium migrate, setup) run here when set: the direct connection to the primary, past
    # the pooler (DDL and advisory locks want a session of their own).
    database_migration_url: str | None = None
    redis_url: str | None = None

    # Background jobs: rows in the outbox table, carried by taskiq. Without a broker URL the
    # jobs run inside the web process; with one (redis:// or amqp://) `emporium worker` runs them.
    jobs_broker_url: str | None = None
    # The Redis list, or the RabbitMQ exchange and queue, that carries the jobs.
    jobs_broker_queue: str = Field(default="emporium:jobs", min_length=1, max_length=200)
    jobs_run_in_process: bool = True
    jobs_poll_seconds: float = 1.0
    jobs_max_attempts: int = Field(default=6, ge=1, le=50)
    jobs_backoff_base_seconds: float = Field(default=10.0, ge=0)
    jobs_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    jobs_lease_seconds: float = Field(default=300.0, gt=0)
    # Done jobs are deleted this many days after they finished (an hourly job); dead jobs stay until staff
    # retry or discard them at /admin/jobs.
    jobs_retention_days: int = Field(default=14, ge=1, le=3650)

    # Tokens.
    access_token_ttl_seconds: int = Field(default=15 * 60, ge=30)
    refresh_token_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60)
    reset_token_ttl_seconds: int = Field(default=3600, ge=60)
    verify_token_ttl_seconds: int = Field(default=48 * 3600, ge=60)

    # The back office: a staff session ends after this long without a request (and at the refresh token's
    # lifetime at the latest); with ``staff_totp_required`` no staff member reaches a screen without a
    # second factor.
    staff_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    staff_totp_required: bool = False
    # How long the link in a staff invitation works (once).
    staff_invitation_ttl_hours: int = Field(default=72, ge=1, le=30 * 24)

    # argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_cost_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # Abuse limits.
    login_max_failures: int = Field(default=5, ge=1)
    login_failure_window_seconds: int = Field(default=15 * 60, ge=1)
    login_lockout_seconds: int = Field(default=15 * 60, ge=1)
    auth_rate_limit: str = "30/minute"
    max_request_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Requests per client by route class (README "Rate limits"): a signed-in user is counted as one client
    # wherever they connect from, anyone else by client address. Webhooks, health probes, /metrics and static
    # files are not counted; /auth and tracking have their own limits.
    rate_limit_reads: str = "600/minute"
    rate_limit_cart: str = "120/minute"
    rate_limit_checkout: str = "30/minute"
    rate_limit_account: str = "60/minute"
    rate_limit_staff: str = "1200/minute"
    # Without Redis, limits and lockouts are counted in a SQLite file every web process on the host shares;
    # "memory" counts in each process (one process only: `emporium serve --workers N` refuses it).
    rate_limit_storage: Literal["file", "memory"] = "file"
    rate_limit_file: str = "./var/emporium-limits.db"
    # While Redis (or the file) fails, limits are counted in memory; the store is tried again this often.
    rate_limit_retry_seconds: float = Field(default=5.0, gt=0, le=300)
    # Proxies (addresses or networks) whose X-Forwarded-For and X-Forwarded-Proto are believed; empty: none,
    # the client address is the connection's.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Payment webhooks are not rate limited (the provider retries), but their bodies are bounded.
    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024)

    # First admin, created by `emporium create-admin` and the setup command.
    admin_email: str = "admin@emporium.localhost"
    admin_password: SecretStr | None = None

    # Catalog: the shop prices in one currency; crypto prices are for display (seed 001 priceInCrypto).
    currency: str = "USD"
    # How the storefront writes prices, numbers and its page language: a CLDR locale (en_US, de_DE, en_IN).
    locale: str = "en_US"
    # The shop's own time zone (an IANA name): where its days begin and end, in reports and the back office.
    timezone: str = "UTC"
    # How pages write an amount: the currency's symbol ($1,234.50) or its ISO code (USD 1,234.50).
    currency_display: Literal["symbol", "code"] = "symbol"
    # Where shoppers write to the shop: shown in the storefront's footer, its content pages and e-mails.
    contact_email: str | None = None
    # The back office's home keeps its figures this long (0: computed on every visit); the API never does.
    analytics_home_cache_seconds: int = Field(default=60, ge=0, le=3600)
    crypto_display_currencies: list[str] = ["BTC", "LTC", "XRP"]
    # Units of each crypto currency per one unit of the shop currency. Illustrative defaults: set real ones,
    # or EMPORIUM_CRYPTO_RATES_URL for an HTTP provider (JSON {"BTC": "0.0000105", ...}).
    crypto_rates: dict[str, str] = {"BTC": "0.0000105", "LTC": "0.0115", "XRP": "0.43"}
    crypto_rates_url: str | None = None
    crypto_rates_ttl_seconds: int = Field(default=300, ge=5)
    catalog_cache_ttl_seconds: int = Field(default=60, ge=0)
    # Product lists count matches up to this many (then the total reads "at least"; see Pagination).
    # Counting 10,000 rows was the dearest part of an uncached list at 100k products (BENCHMARKS.md).
    catalog_count_cap: int = Field(default=1_000, ge=1)

    # Catalog CSV uploads through the API (larger files: `emporium import`).
    max_import_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # A back-office import of more rows than this runs as a background job with a progress page.
    catalog_import_background_rows: int = Field(default=1000, ge=1)
    # How long an uploaded, checked catalog CSV waits for "Apply" in the back office.
    catalog_import_ttl_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)

    # Carts: guest carts (keyed by the X-Cart-Token) and customers' carts expire after these many days.
    cart_guest_ttl_days: int = Field(default=7, ge=1, le=365)
    cart_user_ttl_days: int = Field(default=30, ge=1, le=365)

    # Pricing: whether catalog prices already include tax (tax is then extracted, not added).
    # Tax is rounded per line, half to even (docs/decisions.md).
    prices_include_tax: bool = False

    # Invoices: the seller as its invoices name it (legal name; the shop's name when unset), its postal
    # address as lines (a JSON list), its tax id and what that id is called (VAT number, GSTIN, EIN).
    seller_name: str | None = None
    seller_address: list[str] = []
    seller_tax_id: str | None = None
    seller_tax_id_label: str = "Tax ID"
    # Invoice numbers read <prefix>-<year>-<6 digits>, without gaps within a year (orders/invoicing.py).
    invoice_prefix: str = Field(default="INV", pattern=r"^[A-Z0-9]{1,10}$")

    # Orders: unpaid online orders are cancelled and their stock released after this many minutes.
    order_payment_timeout_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # Payment methods a shopper may choose at checkout. Unset in production: the gateways whose credentials
    # are set (payments/config.py), and cash on delivery (never the test gateway, which production refuses).
    payment_methods: list[str] = ["test", "cash_on_delivery"]
    # Guest order tracking by number + phone or e-mail, per client address.
    order_track_rate_limit: str = "5/minute"
    # Wrong guesses per order number, from any address; past it the order cannot be tracked until the
    # window has passed, even with the right phone or e-mail.
    order_track_order_limit: str = "5/hour"
    # Cash-on-delivery and bank-transfer orders staff have not confirmed are cancelled, and their stock
    # released, after this many hours (orders/limits.py).
    offline_order_timeout_hours: int = Field(default=48, ge=1, le=90 * 24)
    # Pending orders one e-mail, one phone or one client address may hold at once (0: no cap); past it,
    # checkout answers 409 TOO_MANY_OPEN_ORDERS. An address is shared by everyone behind one NAT: keep
    # its cap higher.
    open_orders_per_email: int = Field(default=3, ge=0)
    open_orders_per_phone: int = Field(default=3, ge=0)
    open_orders_per_client_address: int = Field(default=10, ge=0)
    # Guest checkouts per client address and per phone.
    guest_checkout_rate_limit: str = "10/hour"

    # Served-shop hardening. HSTS is sent in production only (a year at least: browsers then refuse plain
    # http for the shop). CORS is off unless origins are listed (a separate front end: "https://app.shop").
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=31_536_000)
    hsts_include_subdomains: bool = True
    cors_allow_origins: list[str] = []
    # /metrics asks for "Authorization: Bearer <token>" when this is set; in production it is hidden without.
    metrics_token: SecretStr | None = None
    # Several processes on one host (serve --workers N, more than one serve, emporium worker) write their
    # metrics to files in this directory and /metrics sums them; unset, each process counts in memory alone.
    metrics_dir: Path | None = None
    # With serve --workers N, uvicorn's parent restarts a worker that has not answered its health check in
    # this many seconds; uvicorn's own 5 s killed busy workers on a loaded small machine.
    serve_healthcheck_timeout_seconds: int = Field(default=30, ge=1, le=600)
    # /api/docs and /api/openapi.json: on outside production; in production only when this is true, and then
    # for signed-in staff only.
    api_docs: bool | None = None

    log_level: str = "INFO"
    log_json: bool = True
    # Error reports (core/sentry.py): unset, nothing is initialised and nothing is sent. The environment
    # defaults to EMPORIUM_ENV.
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = Field(default=None, min_length=1, max_length=64)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def migration_url(self) -> str:
        """Where migrations run: the direct connection when one is set, else the shop's database."""
        return self.database_migration_url or self.database_url

    @model_validator(mode="after")
    def _read_your_writes_outlasts_the_lag(self) -> Settings:
        # After the marker expires the client reads the replica: it must hold the client's write by then.
        replica = self.database_replica_url is not None
        if replica and self.read_your_writes_seconds < self.replica_max_lag_seconds:
            raise ValueError(
                "EMPORIUM_READ_YOUR_WRITES_SECONDS must be at least EMPORIUM_REPLICA_MAX_LAG_SECONDS "
                "(a client's write must be on the replica before its reads go back there)"
            )
        return self

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite or ":memory:" in self.database_url:
            return None
        return Path(self.database_url.split(":///", 1)[1])

    @field_validator(
        "auth_rate_limit",
        "rate_limit_reads",
        "rate_limit_cart",
        "rate_limit_checkout",
        "rate_limit_account",
        "rate_limit_staff",
        "order_track_rate_limit",
        "order_track_order_limit",
        "guest_checkout_rate_limit",
    )
    @classmethod
    def _a_limit(cls, value: str, info: ValidationInfo) -> str:
        try:
            parse_limit(value)
        except ValueError as exc:
            name = f"EMPORIUM_{(info.field_name or '').upper()}"
            example = "600/minute or 5 per 900 seconds"
            raise ValueError(f"{name}: {value!r} is not a limit like {example}") from exc
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxy_networks(cls, value: object) -> object:
        # A comma-separated list (10.0.0.1, 10.1.0.0/16) or a JSON list.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _known_networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"EMPORIUM_TRUSTED_PROXIES: {entry!r} is not an address or network") from exc
        return value

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str) -> str:
        try:
            return str(Locale.parse(value.replace("-", "_")))
        except (ValueError, UnknownLocaleError) as exc:
            raise ValueError(f"EMPORIUM_LOCALE: {value!r} is not a known locale") from exc

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError) as exc:
            raise ValueError(f"EMPORIUM_TIMEZONE: {value!r} is not a known time zone") from exc
        return value

    @model_validator(mode="after")
    def _public_url_follows_the_port(self) -> Settings:
        if self.port is not None and "public_url" not in self.model_fields_set:
            self.public_url = f"http://127.0.0.1:{self.port}"
        return self

    def part(self, kind: type[S]) -> S:
        """These settings as a domain's part of them (``settings.part(PaymentSettings)``). The app's settings
        are built from every part, so this only narrows the type; a bare ``Settings`` is refused."""
        if not isinstance(self, kind):
            raise TypeError(f"these settings have no {kind.__name__}: use emporium.settings.AppSettings")
        return self

    def fill_production_defaults(self) -> None:
        """Sets the settings whose production default depends on others; a domain's part adds its own."""

    def production_problems(self) -> list[str]:
        """What would make a production shop unsafe, each naming its variable; a domain's part adds its own
        after these."""
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret == DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH:
            problems.append(
                f"EMPORIUM_SECRET_KEY must be a random value of at least {MIN_SECRET_LENGTH} characters "
                f"({MAKE_A_SECRET})"
            )
        elif weak_secret(secret):
            problems.append(f"EMPORIUM_SECRET_KEY is too easy to guess ({MAKE_A_SECRET})")
        if self.is_sqlite:
            problems.append("EMPORIUM_DATABASE_URL must point at PostgreSQL, not SQLite, in production")
        if self.debug:
            problems.append("EMPORIUM_DEBUG must be off in production")
        problems.extend(production_problems(self))
        return problems

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        self.fill_production_defaults()
        problems = self.production_problems()
        if problems:
            raise ConfigurationError("refusing to start in production: " + "; ".join(problems))
        return self
