"""The store's settings: read what is stored (and what the environment gives where nothing is), save a
change with its audit entry, and choose the payment methods checkout offers.

Whether a payment method may be offered (its gateway's credentials) is the payments domain's rule
(payments/offering.py); this module only keeps the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit, diff
from emporium.core.config import Settings
from emporium.store.models import STORE_ROW_ID, StoreSettings
from emporium.store.profile import StoreProfile
from emporium.store.repository import StoreRepository
from emporium.store.schemas import StoreSettingsIn

FIELDS = (
    "name",
    "legal_name",
    "address",
    "tax_id",
    "tax_id_label",
    "contact_email",
    "timezone",
    "currency_display",
)
AUDITED = AuditedObject(type="store", id=STORE_ROW_ID, label="Store settings")


@dataclass(frozen=True)
class StoredSettings:
    """What the settings form shows: the stored values (blank: not stored) and the environment's defaults."""

    stored: StoreSettingsIn
    defaults: StoreProfile
    payment_methods: tuple[str, ...] | None


def _stored(row: StoreSettings | None) -> StoreSettingsIn:
    if row is None:
        return StoreSettingsIn()
    return StoreSettingsIn.model_construct(**{name: getattr(row, name) for name in FIELDS})


class StoreSettingsService:
    async def stored(self, session: AsyncSession, settings: Settings) -> StoredSettings:
        """``settings`` must be the environment's (``ctx`` of the app, not of the request) for the defaults
        to be the environment's; the profile of a request already has the stored values laid over."""
        row = await StoreRepository(session).settings_row()
        return StoredSettings(
            stored=_stored(row),
            defaults=StoreProfile.of(settings, None),
            payment_methods=tuple(row.payment_methods) if row and row.payment_methods is not None else None,
        )

    async def save(self, session: AsyncSession, actor: Actor, data: StoreSettingsIn) -> list[str]:
        """Store ``data`` (a None field: the environment's default applies); the names of the fields that
        changed, each written to the audit log with its old and new value."""
        row = await StoreRepository(session).settings_row_for_update()
        before = {name: getattr(row, name) for name in FIELDS}
        after = {name: getattr(data, name) for name in FIELDS}
        changed = diff(before, after)
        if not changed:
            return []
        for name, value in after.items():
            setattr(row, name, value)
        audit.record(session, actor, "store.settings_updated", AUDITED, _printable(changed))
        await StoreRepository(session).flush()
        return sorted(changed)

    async def set_payment_methods(
        self, session: AsyncSession, actor: Actor, methods: list[str], previous: list[str]
    ) -> bool:
        """Offer exactly ``methods`` at checkout (``previous``: what checkout offered until now, for the
        audit entry); False when that is what it already offers."""
        if methods == previous:
            return False
        row = await StoreRepository(session).settings_row_for_update()
        row.payment_methods = list(methods)
        audit.record(
            session,
            actor,
            "store.payment_methods_updated",
            AUDITED,
            {"payment_methods": (", ".join(previous), ", ".join(methods))},
        )
        await StoreRepository(session).flush()
        return True


def _printable(changed: dict[str, tuple[object, object]]) -> dict[str, tuple[object, object]]:
    """Address lines as the audit log shows them: one text."""

    def text(value: object) -> object:
        return " / ".join(str(line) for line in value) if isinstance(value, list) else value

    return {name: (text(old), text(new)) for name, (old, new) in changed.items()}


store_settings = StoreSettingsService()
