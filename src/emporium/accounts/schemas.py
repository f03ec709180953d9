"""Request and response bodies of the accounts API. Unknown fields (``role``, ``is_active``) are ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
)

from emporium.accounts.password_policy import MAX_LENGTH, check_new_password
from emporium.core.card_numbers import NoCardNumber
from emporium.core.schemas import InputModel

# Free text (names, address lines, labels) refuses card numbers: core/card_numbers.py.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoCardNumber]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()./-]{5,24}$")]
NewPassword = Annotated[str, Field(max_length=MAX_LENGTH), AfterValidator(check_new_password)]
# A password being checked (not chosen) is only bounded, so argon2 never hashes megabytes.
GivenPassword = Annotated[str, Field(min_length=1, max_length=1024)]
OpaqueToken = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=2048)]


Input = InputModel


class RegisterIn(Input):
    email: EmailStr
    password: NewPassword
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None


class LoginIn(Input):
    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
    password: GivenPassword


class RefreshIn(Input):
    refresh_token: OpaqueToken


class LogoutIn(Input):
    refresh_token: OpaqueToken | None = None


class EmailIn(Input):
    email: EmailStr


class ResetPasswordIn(Input):
    token: OpaqueToken
    password: NewPassword


class VerifyEmailIn(Input):
    token: OpaqueToken


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    first_name: str | None
    last_name: str | None
    phone: str | None
    role: str
    email_verified: bool
    created_at: datetime
    permissions: list[str]


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: UserRead


class ProfileUpdate(Input):
    first_name: Name | None = None
    last_name: Name | None = None
    phone: Phone | None = None


class PasswordChange(Input):
    current_password: GivenPassword
    new_password: NewPassword


class AccountDelete(Input):
    password: GivenPassword


def _country(value: str) -> str:
    value = value.strip().upper()
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValueError("Use the two-letter ISO 3166 country code, e.g. US or IN.")
    return value


Country = Annotated[str, AfterValidator(_country)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), NoCardNumber]
ShortLine = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoCardNumber
]
AddressLabel = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), NoCardNumber]
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoCardNumber
]
PostalCode = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20), NoCardNumber
]


class AddressCreate(Input):
    label: AddressLabel | None = None
    full_name: FullName
    phone: Phone | None = None
    line1: Line
    line2: Line | None = None
    city: ShortLine
    region: ShortLine | None = None
    postal_code: PostalCode
    country: Country
    is_default: bool = False


class AddressUpdate(Input):
    label: AddressLabel | None = None
    full_name: FullName | None = None
    phone: Phone | None = None
    line1: Line | None = None
    line2: Line | None = None
    city: ShortLine | None = None
    region: ShortLine | None = None
    postal_code: PostalCode | None = None
    country: Country | None = None
    is_default: bool | None = None

    @field_validator("full_name", "line1", "city", "postal_code", "country", mode="before")
    @classmethod
    def _required_stays_required(cls, value: object) -> object:
        if value is None:
            raise ValueError("This field cannot be emptied.")
        return value


class AddressRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str | None
    full_name: str
    phone: str | None
    line1: str
    line2: str | None
    city: str
    region: str | None
    postal_code: str
    country: str
    is_default: bool
    created_at: datetime
    updated_at: datetime


class PreferencesRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    email: bool
    sms: bool
    push: bool
    whatsapp: bool
    promotional: bool


class PreferencesUpdate(Input):
    email: bool | None = None
    sms: bool | None = None
    push: bool | None = None
    whatsapp: bool | None = None
    promotional: bool | None = None
