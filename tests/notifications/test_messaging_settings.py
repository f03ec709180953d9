"""Which messaging channels a shop offers, and what production refuses of their settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from emporium.core.config import ConfigurationError
from emporium.notifications.channels import sendable_channels
from tests.conftest import make_settings
from tests.core.test_config import production
from tests.notifications.messaging import FROM_NUMBER, twilio_settings, whatsapp_settings


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only what a test sets counts: no EMPORIUM_* variable from outside, no .env file."""
    for name in list(os.environ):
        if name.startswith("EMPORIUM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_only_email_without_a_messaging_provider(database_url: str) -> None:
    settings = make_settings(database_url, None, notifications_development_channels=[])
    assert sendable_channels(settings) == ("email",)


def test_development_channels_are_offered_outside_production(database_url: str) -> None:
    settings = make_settings(database_url, None, notifications_development_channels=["whatsapp", "sms"])
    assert sendable_channels(settings) == ("email", "sms", "whatsapp")


def test_a_configured_provider_adds_its_channel(database_url: str) -> None:
    def channels(**values: object) -> tuple[str, ...]:
        return sendable_channels(
            make_settings(database_url, None, notifications_development_channels=[], **values)
        )

    assert channels(**twilio_settings()) == ("email", "sms")
    assert channels(**twilio_settings(twilio_messaging_service_sid=None, twilio_from_number=FROM_NUMBER)) == (
        "email",
        "sms",
    )
    # Credentials without a messaging service or a sender number send nothing.
    assert channels(**twilio_settings(twilio_messaging_service_sid=None)) == ("email",)
    assert channels(**whatsapp_settings()) == ("email", "whatsapp")
    assert channels(**twilio_settings(), **whatsapp_settings()) == ("email", "sms", "whatsapp")


def test_production_needs_whatsapps_webhook_secrets_with_whatsapp() -> None:
    production(**whatsapp_settings())
    with pytest.raises(ConfigurationError, match="EMPORIUM_WHATSAPP_APP_SECRET"):
        production(**whatsapp_settings(whatsapp_app_secret=None))
    with pytest.raises(ConfigurationError, match="EMPORIUM_WHATSAPP_VERIFY_TOKEN is too easy to guess"):
        production(**whatsapp_settings(whatsapp_verify_token="verify" * 4))
    production(**twilio_settings())


def test_malformed_twilio_identifiers_are_refused(database_url: str) -> None:
    for bad in ({"twilio_account_sid": "AC123"}, {"twilio_from_number": "07700 900123"}):
        with pytest.raises(ValueError, match="twilio_"):
            make_settings(database_url, None, **bad)
