"""What a domain's ``install`` may register: jobs, periodic jobs, hooks and cache watches (see
emporium/install.py, the wiring step that calls every install).

The registries stay with the code that reads them (core/jobs, core/changes.py, accounts/hooks.py,
accounts/privacy.py, orders/lifecycle.py) and are one per process: they are read where only a session is at
hand (``enqueue``, the order and sign-in hooks, SQLAlchemy's session events), so an object carrying them
would have to travel through every service. Each registration is idempotent instead: registering the same
thing again changes nothing (tests build many apps in one process), and another handler under a taken job
name raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from emporium.accounts.hooks import LoginHook, register_login_hook
from emporium.accounts.privacy import Eraser, Exporter, register_privacy_hooks
from emporium.core import changes
from emporium.core.context import AppContext, SettingsSource, register_settings_source
from emporium.core.jobs.registry import register_job
from emporium.core.jobs.schedule import periodic
from emporium.inventory.hooks import StockHook, register_stock_hook
from emporium.notifications.attachments import AttachmentBuilder, register_attachments
from emporium.orders.lifecycle import (
    MovedHook,
    OrderHook,
    register_cancellation_hook,
    register_moved_hook,
    register_placed_hook,
)

# What a job handler is given: the app context and the JSON payload. It opens its own session.
JobHandler = Callable[[AppContext, dict[str, Any]], Awaitable[None]]


class Wiring:
    """What a domain's ``install`` may register; each method puts one thing in the registry that reads it."""

    def job(self, name: str, handler: JobHandler, *, max_attempts: int | None = None) -> None:
        """Run ``handler`` for the jobs enqueued as ``name``; ``max_attempts`` overrides the default."""
        register_job(name, handler, max_attempts=max_attempts)

    def periodic(self, name: str, *, every_seconds: int) -> None:
        """Enqueue the job ``name`` every ``every_seconds`` (core/jobs/schedule.py)."""
        periodic(name, every_seconds=every_seconds)

    def login_hook(self, hook: LoginHook) -> None:
        """Run ``hook`` in the transaction of every sign-in."""
        register_login_hook(hook)

    def privacy_hooks(
        self, name: str, *, exporter: Exporter | None = None, eraser: Eraser | None = None
    ) -> None:
        """Add the domain's part to a customer's data export (under ``name``) and to their erasure."""
        register_privacy_hooks(name, exporter=exporter, eraser=eraser)

    def order_placed_hook(self, hook: OrderHook) -> None:
        register_placed_hook(hook)

    def order_cancelled_after_payment_hook(self, hook: OrderHook) -> None:
        register_cancellation_hook(hook)

    def order_moved_hook(self, hook: MovedHook) -> None:
        register_moved_hook(hook)

    def notification_attachments(self, event: str, builder: AttachmentBuilder) -> None:
        """Attach the files ``builder`` makes to the e-mail of ``event`` (notifications/attachments.py)."""
        register_attachments(event, builder)

    def stock_hook(self, hook: StockHook) -> None:
        """Run ``hook`` in every transaction that changes a pool's stock (inventory/hooks.py)."""
        register_stock_hook(hook)

    def cache_watch(self, tables: Iterable[str], stamp: str) -> None:
        """Change the cache stamp ``stamp`` after every commit that wrote to one of ``tables``."""
        changes.watch(tables, stamp)

    def settings_source(self, source: SettingsSource) -> None:
        """Give every request the settings ``source`` makes of the environment's (core/context.py)."""
        register_settings_source(source)
