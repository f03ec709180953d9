"""The time planning and delivery go by: one function, so a test can move it (quiet hours, budgets)."""

from __future__ import annotations

from datetime import datetime

from emporium.core.db import utcnow


def now() -> datetime:
    return utcnow()
