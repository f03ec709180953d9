"""Fixtures of the operations tests: the back office's signed-in staff clients."""

from __future__ import annotations

from tests.admin.conftest import staff_client  # noqa: F401
