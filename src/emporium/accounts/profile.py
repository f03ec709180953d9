"""A signed-in customer's own data: profile, password, addresses and notification preferences."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts import schemas
from emporium.accounts.errors import AccountError
from emporium.accounts.models import Address, User
from emporium.accounts.repository import AccountRepository
from emporium.accounts.service import RESET_PASSWORD
from emporium.core.context import AppContext
from emporium.core.db import utcnow
from emporium.core.errors import NotFound, ValidationFailed
from emporium.core.messages import field_name, human_message
from emporium.core.notify import Recipient, notify, occurrence


def wrong_password(field: str) -> ValidationFailed:
    return ValidationFailed(
        "The password is not correct.",
        code=AccountError.INVALID_PASSWORD,
        details=[{"field": field, "message": "The password is not correct."}],
    )


# What an address is checked by as a whole: a new country makes the saved postal code, region and phone
# be read again by its rules.
_CHECKED_TOGETHER = ("country", "region", "postal_code", "phone")


def _checked_as_a_whole(address: Address, changes: dict[str, object]) -> dict[str, object]:
    """The changes, normalised as the address they make (a partial update cannot check a postal code
    without the country it belongs to); refused by field when the whole is not a valid address."""
    if not any(name in changes for name in _CHECKED_TOGETHER):
        return changes
    merged = {name: changes.get(name, getattr(address, name)) for name in _CHECKED_TOGETHER}
    if "phone" not in changes:
        # A number saved under older rules is not refused because another part of the address changed.
        merged.pop("phone")
    try:
        checked = schemas.AddressCheck.model_validate(merged)
    except ValidationError as exc:
        details = [
            {"field": field_name(e["loc"]), "message": human_message(field_name(e["loc"]), e)}
            for e in exc.errors()
        ]
        raise ValidationFailed(details=details) from exc
    return changes | {name: getattr(checked, name) for name in _CHECKED_TOGETHER if name in merged}


class ProfileService:
    def update_profile(self, user: User, data: schemas.ProfileUpdate) -> User:
        for field in data.model_fields_set:
            setattr(user, field, getattr(data, field))
        return user

    async def change_password(
        self,
        session: AsyncSession,
        ctx: AppContext,
        user: User,
        data: schemas.PasswordChange,
        current_session_id: int,
    ) -> None:
        if not await ctx.passwords.verify(user.password_hash, data.current_password):
            raise wrong_password("current_password")
        user.password_hash = await ctx.passwords.hash(data.new_password)
        repo = AccountRepository(session)
        now = utcnow()
        await repo.revoke_user_sessions(user.id, now, "password_changed", keep=current_session_id)
        # A reset link mailed before the change must not undo it.
        await repo.void_one_time_tokens(user.id, RESET_PASSWORD, now)
        notify(
            session,
            "account.password_changed",
            key=occurrence("account.password_changed", user.id),
            recipients=[Recipient(user_id=user.id, email=user.email)],
            context={"shop_name": ctx.settings.shop_name, "first_name": user.first_name},
        )

    # Addresses
    async def addresses(self, session: AsyncSession, user: User) -> Sequence[Address]:
        return await AccountRepository(session).addresses_of(user.id)

    async def address(self, session: AsyncSession, user: User, address_id: int) -> Address:
        address = await AccountRepository(session).address_of(user.id, address_id)
        if address is None:
            raise NotFound("Address not found.", code=AccountError.ADDRESS_NOT_FOUND)
        return address

    async def add_address(self, session: AsyncSession, user: User, data: schemas.AddressCreate) -> Address:
        repo = AccountRepository(session)
        existing = await repo.addresses_of(user.id)
        make_default = data.is_default or not existing
        if make_default:
            await repo.clear_default_address(user.id)
        address = Address(user_id=user.id, **data.model_dump(exclude={"is_default"}), is_default=make_default)
        session.add(address)
        await session.flush()
        return address

    async def update_address(
        self, session: AsyncSession, user: User, address_id: int, data: schemas.AddressUpdate
    ) -> Address:
        address = await self.address(session, user, address_id)
        changes = data.model_dump(exclude_unset=True)
        becomes_default = changes.pop("is_default", None)
        changes = _checked_as_a_whole(address, changes)
        for field, value in changes.items():
            setattr(address, field, value)
        if becomes_default and not address.is_default:
            await AccountRepository(session).clear_default_address(user.id)
            address.is_default = True
        elif becomes_default is False and address.is_default:
            # Hand the default to another address; a customer's only address stays the default.
            others = [a for a in await AccountRepository(session).addresses_of(user.id) if a.id != address.id]
            if others:
                address.is_default = False
                await session.flush()
                others[0].is_default = True
        await session.flush()
        await session.refresh(address)
        return address

    async def delete_address(self, session: AsyncSession, user: User, address_id: int) -> None:
        address = await self.address(session, user, address_id)
        was_default = address.is_default
        await session.delete(address)
        await session.flush()
        if was_default:
            await self._promote_default(session, user)

    async def _promote_default(self, session: AsyncSession, user: User) -> None:
        """A customer with addresses always has a default one: the oldest remaining takes over."""
        remaining = await AccountRepository(session).addresses_of(user.id)
        if remaining:
            remaining[0].is_default = True


profiles = ProfileService()
