"""Customers as the back office sees them: search, their account at a glance, deactivation and GDPR requests.

Search takes what staff type, read as one kind first (core/search_text.py): a whole e-mail address (the
customer with that address, compared on its unique index), a phone number in any format, or words (each
must appear in the e-mail, the first or the last name; trigram indexes serve these on PostgreSQL). A number
is read as international, as a national number of the shop's country (its locale's territory), or as digits
with the country code but no "+", and compared in E.164, the form customers' numbers are stored in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from babel import Locale, UnknownLocaleError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts import privacy
from emporium.accounts.errors import AccountError
from emporium.accounts.models import Address, AuthSession, User
from emporium.accounts.repository import AccountRepository
from emporium.accounts.staff_repository import CustomerLookup, StaffRepository
from emporium.audit.schemas import Actor, AuditedObject
from emporium.audit.service import audit
from emporium.core.config import Settings
from emporium.core.db import utcnow
from emporium.core.errors import Conflict, NotFound
from emporium.core.keyset import Cursor, KeysetPage, decode_cursor, encode_cursor
from emporium.core.phones import e164_candidates
from emporium.core.search_text import SearchKind, classify

MAX_WORDS = 5
EXPORT_BATCH = 500


def customer_not_found() -> NotFound:
    return NotFound("No such customer.", code=AccountError.CUSTOMER_NOT_FOUND)


def shop_region(settings: Settings) -> str | None:
    try:
        return Locale.parse(settings.locale).territory
    except (UnknownLocaleError, ValueError):
        return None


def phone_candidates(query: str, region: str | None) -> set[str]:
    """The E.164 numbers ``query`` may mean (national numbers read as the shop's country's); empty when it
    does not read as a phone number."""
    return set(e164_candidates(query, [region] if region else []))


def search_words(query: str) -> list[str]:
    return [word.lower() for word in query.split()][:MAX_WORDS]


def customer_lookup(query: str, settings: Settings) -> CustomerLookup:
    """``query`` read as one kind (core/search_text.py): only that kind's comparison runs."""
    phones = phone_candidates(query, shop_region(settings))
    kind = classify(query, phones)
    if kind is SearchKind.EMAIL:
        return CustomerLookup(email=query.strip().lower())
    if kind is SearchKind.PHONE:
        return CustomerLookup(phones=phones)
    return CustomerLookup(words=search_words(query))


@dataclass(frozen=True)
class CustomerAccount:
    """A customer and what their account holds, for the customer's page."""

    user: User
    addresses: list[Address]
    sessions: list[AuthSession]

    @property
    def live_sessions(self) -> list[AuthSession]:
        now = utcnow()
        return [s for s in self.sessions if s.revoked_at is None and s.expires_at > now]


class CustomerService:
    # Reading
    async def search(
        self, session: AsyncSession, settings: Settings, query: str, after: str | None, limit: int
    ) -> KeysetPage[User]:
        """Customers matching ``query`` (all of them when it is empty), newest first, a page at a time."""
        cursor = decode_cursor(after)
        rows = await StaffRepository(session).customers(
            customer_lookup(query, settings), after=cursor, limit=limit
        )
        more = len(rows) > limit
        shown = rows[:limit]
        return KeysetPage(rows=shown, next_cursor=encode_cursor(None, shown[-1].id) if more else None)

    async def matching(
        self, session: AsyncSession, settings: Settings, query: str, limit: int
    ) -> AsyncIterator[User]:
        """Up to ``limit`` customers matching ``query``, newest first, read in batches (the CSV export)."""
        repo = StaffRepository(session)
        lookup = customer_lookup(query, settings)
        after: Cursor | None = None
        left = limit
        while left > 0:
            batch = min(EXPORT_BATCH, left)
            rows = await repo.customers(lookup, after=after, limit=batch)
            for user in rows[:batch]:
                yield user
            left -= batch
            if len(rows) <= batch:
                return
            after = Cursor(None, rows[batch - 1].id)

    async def customer(self, session: AsyncSession, user_id: int) -> User:
        """The customer with this id (a staff account is not a customer: not found)."""
        user = await StaffRepository(session).customer(user_id)
        if user is None:
            raise customer_not_found()
        return user

    async def account(self, session: AsyncSession, user: User) -> CustomerAccount:
        repo = AccountRepository(session)
        return CustomerAccount(
            user=user,
            addresses=list(await repo.addresses_of(user.id)),
            sessions=list(await repo.sessions_of(user.id)),
        )

    # Changes
    async def deactivate(self, session: AsyncSession, actor: Actor, user: User) -> None:
        """The customer can no longer sign in; every session they hold ends now."""
        _not_erased(user)
        if not user.is_active:
            return
        user.is_active = False
        await AccountRepository(session).revoke_user_sessions(user.id, utcnow(), "deactivated")
        audit.record(session, actor, "customer.deactivated", _audited(user), {"is_active": (True, False)})

    async def reactivate(self, session: AsyncSession, actor: Actor, user: User) -> None:
        """The customer may sign in again (with the password they had)."""
        _not_erased(user)
        if user.is_active:
            return
        user.is_active = True
        audit.record(session, actor, "customer.reactivated", _audited(user), {"is_active": (False, True)})

    async def export(self, session: AsyncSession, actor: Actor, user: User) -> dict[str, Any]:
        """Everything held about the customer (the GDPR export), the handing over recorded in the log."""
        _not_erased(user)
        data = await privacy.export_user(session, user)
        audit.record(session, actor, "customer.exported", _audited(user))
        return data

    async def erase(self, session: AsyncSession, actor: Actor, user: User) -> None:
        """Erase the customer on their request: personal data goes, the books stay (docs/decisions.md)."""
        _not_erased(user)
        was_active = user.is_active
        await privacy.scrub(session, user)
        audit.record(session, actor, "customer.erased", _audited(user), {"is_active": (was_active, False)})


def _not_erased(user: User) -> None:
    if user.erased_at is not None:
        raise Conflict("This customer's account was erased.", code=AccountError.ACCOUNT_ERASED)


def _audited(user: User) -> AuditedObject:
    # Labelled by id, not e-mail: the log copies no personal data a later erasure would have to find.
    return AuditedObject("user", user.id, f"customer {user.id}")


customers = CustomerService()
