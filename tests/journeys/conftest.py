"""The storefront's browser fixtures (tests/web/conftest.py), for the "Notify me" browser test."""

from tests.web.conftest import artifacts, chromium_path, live_catalog, live_shop  # noqa: F401
