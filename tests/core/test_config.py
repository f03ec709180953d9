"""Settings: production refuses what would make the shop unsafe, and says which setting to change."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from emporium.core.config import DEFAULT_SECRET_KEY, ConfigurationError
from emporium.settings import AppSettings

GOOD_SECRET = "k7Qz0vN3xR8pL2mW5tY9bC4dF6gH1jAs"
POSTGRES_URL = "postgresql+asyncpg://shop@db.internal:5432/shop"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets counts: no EMPORIUM_* variable from outside, no .env file."""
    for name in list(os.environ):
        if name.startswith("EMPORIUM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def production(**values: object) -> AppSettings:
    given: dict[str, object] = {"env": "production", "secret_key": GOOD_SECRET, "database_url": POSTGRES_URL}
    given.update(values)
    return AppSettings(**given)  # type: ignore[arg-type]


def test_a_good_production_configuration_is_accepted() -> None:
    settings = production()
    assert settings.env == "production"
    assert not settings.is_sqlite
    assert settings.secret_key.get_secret_value() == GOOD_SECRET


def test_production_refuses_the_published_default_secret() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_SECRET_KEY"):
        production(secret_key=DEFAULT_SECRET_KEY)


def test_production_refuses_a_missing_secret() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_SECRET_KEY"):
        AppSettings(env="production", database_url=POSTGRES_URL)


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_SECRET_KEY") as caught:
        production(secret_key=GOOD_SECRET[:31])
    assert "EMPORIUM_DATABASE_URL" not in str(caught.value)
    production(secret_key=GOOD_SECRET[:32])


@pytest.mark.parametrize(
    "secret",
    ["a" * 32, "x" * 64, "passwordpasswordpasswordpassword", "abcdabcdabcdabcdabcdabcdabcdabcd"],
)
def test_production_refuses_a_secret_of_low_entropy_and_says_how_to_make_one(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_SECRET_KEY") as caught:
        production(secret_key=secret)
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in str(caught.value)


def test_production_accepts_random_secrets() -> None:
    for _ in range(200):
        production(secret_key=secrets.token_urlsafe(48))
        production(secret_key=secrets.token_hex(16))


def test_production_refuses_a_metrics_token_of_low_entropy() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_METRICS_TOKEN"):
        production(metrics_token="b" * 40)
    assert production(metrics_token=secrets.token_urlsafe(32)).metrics_token is not None


def test_production_refuses_the_test_gateway() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_PAYMENT_METHODS") as caught:
        production(payment_methods=["test", "cash_on_delivery"])
    assert "EMPORIUM_SECRET_KEY" not in str(caught.value)


def test_production_refuses_the_test_gateway_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPORIUM_ENV", "production")
    monkeypatch.setenv("EMPORIUM_DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("EMPORIUM_SECRET_KEY", GOOD_SECRET)
    monkeypatch.setenv("EMPORIUM_PAYMENT_METHODS", '["stripe", "test"]')
    with pytest.raises(ConfigurationError, match="EMPORIUM_PAYMENT_METHODS"):
        AppSettings()


def test_production_offers_only_configured_gateways_by_default() -> None:
    assert "test" in AppSettings().payment_methods  # development keeps the simulated card
    assert production().payment_methods == ["cash_on_delivery"]
    configured = production(stripe_secret_key="sk_live_x", bitcoin_rpc_url="http://node.internal:8332")
    assert configured.payment_methods == ["stripe", "bitcoin", "cash_on_delivery"]
    # Half a configuration is not a configured gateway.
    assert production(razorpay_key_id="rzp_live_x").payment_methods == ["cash_on_delivery"]


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_DATABASE_URL") as caught:
        production(database_url="sqlite+aiosqlite:///./var/shop.db")
    assert "EMPORIUM_SECRET_KEY" not in str(caught.value)


def test_production_refuses_debug() -> None:
    with pytest.raises(ConfigurationError, match="EMPORIUM_DEBUG"):
        production(debug=True)


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        AppSettings(env="production", debug=True, database_url="sqlite+aiosqlite:///x.db")
    message = str(caught.value)
    for name in ("EMPORIUM_SECRET_KEY", "EMPORIUM_DATABASE_URL", "EMPORIUM_DEBUG"):
        assert name in message


def test_production_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMPORIUM_ENV", "production")
    monkeypatch.setenv("EMPORIUM_DATABASE_URL", POSTGRES_URL)
    with pytest.raises(ConfigurationError, match="EMPORIUM_SECRET_KEY"):
        AppSettings()
    monkeypatch.setenv("EMPORIUM_SECRET_KEY", GOOD_SECRET)
    assert AppSettings().env == "production"
    monkeypatch.setenv("EMPORIUM_DEBUG", "true")
    with pytest.raises(ConfigurationError, match="EMPORIUM_DEBUG"):
        AppSettings()


def test_production_reads_a_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"EMPORIUM_ENV=production\nEMPORIUM_DATABASE_URL={POSTGRES_URL}\nEMPORIUM_SECRET_KEY=too-short\n"
    )
    with pytest.raises(ConfigurationError, match="EMPORIUM_SECRET_KEY"):
        AppSettings()


def test_development_accepts_the_defaults() -> None:
    settings = AppSettings()
    assert settings.env == "development"
    assert settings.is_sqlite
    assert settings.secret_key.get_secret_value() == DEFAULT_SECRET_KEY


def test_secret_is_not_shown_in_the_settings_repr() -> None:
    assert GOOD_SECRET not in repr(production())
