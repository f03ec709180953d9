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
    ValidationInfo,
    field_validator,
)

from emporium.accounts.password_policy import MAX_LENGTH, check_new_password
from emporium.core.card_numbers import NoCardNumber
from emporium.core.phones import normalise_phone
from emporium.core.places import normalise_country, normalise_postal_code, normalise_region
from emporium.core.schemas import InputModel

# The region a national phone number is read in when the model has no country field of its own.
PHONE_REGION = "phone_region"


def _known(info: ValidationInfo, name: str) -> str | None:
    """A field validated before this one (``country`` comes first in address models), or None."""
    data = getattr(info, "data", None) or {}
    value = data.get(name)
    return value if isinstance(value, str) else None


def _phone(value: str, info: ValidationInfo) -> str:
    """E.164; a number without its country code is read in the address's country (or the region the
    caller passes in the validation context, e.g. the shop's own country for a profile)."""
    context = info.context if isinstance(info.context, dict) else {}
    region = _known(info, "country") or context.get(PHONE_REGION)
    return normalise_phone(value, region if isinstance(region, str) else None)


def _region(value: str | None, info: ValidationInfo) -> str | None:
    return normalise_region(_known(info, "country"), value)


def _postal_code(value: str, info: ValidationInfo) -> str:
    return normalise_postal_code(_known(info, "country"), value)


# Free text (names, address lines, labels) refuses card numbers: core/card_numbers.py.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoCardNumber]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32), AfterValidator(_phone)]
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
    # Staff with two-factor sign-in: the code from their app, or a recovery code.
    totp_code: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


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


# The ISO 3166 code of a country the shop knows by name (the storefront shows a list of names).
Country = Annotated[str, StringConstraints(max_length=100), AfterValidator(normalise_country)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255), NoCardNumber]
ShortLine = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), NoCardNumber
]
AddressLabel = Annotated[str, StringConstraints(strip_whitespace=True, max_length=50), NoCardNumber]
FullName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NoCardNumber
]
# Region and postal code are checked against the country's format where it is known; address models
# list ``country`` first so it is validated before them.
PostalCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20),
    NoCardNumber,
    AfterValidator(_postal_code),
]
Region = Annotated[ShortLine | None, AfterValidator(_region)]
# A required region (a US state) must be asked for even when the field is left out.
RegionField = Annotated[Region, Field(validate_default=True)]


class AddressCreate(Input):
    country: Country
    label: AddressLabel | None = None
    full_name: FullName
    phone: Phone | None = None
    line1: Line
    line2: Line | None = None
    city: ShortLine
    region: RegionField = None
    postal_code: PostalCode
    is_default: bool = False


class AddressUpdate(Input):
    """A partial change; the service checks the address it makes (a new postal code against the saved
    country) again as a whole."""

    country: Country | None = None
    label: AddressLabel | None = None
    full_name: FullName | None = None
    phone: Phone | None = None
    line1: Line | None = None
    line2: Line | None = None
    city: ShortLine | None = None
    region: Region = None
    postal_code: PostalCode | None = None
    is_default: bool | None = None

    @field_validator("full_name", "line1", "city", "postal_code", "country", mode="before")
    @classmethod
    def _required_stays_required(cls, value: object) -> object:
        if value is None:
            raise ValueError("This field cannot be emptied.")
        return value


class AddressCheck(Input):
    """The parts of an address that are read by its country's rules, checked together."""

    country: Country
    phone: Phone | None = None
    region: RegionField = None
    postal_code: PostalCode


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


class StaffInvitationIn(Input):
    """The back office's invitation form (accounts/staff.py)."""

    email: EmailStr
    role: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    first_name: Name | None = None
    last_name: Name | None = None


class ChosenPassword(Input):
    """A password chosen on a page (the staff invitation)."""

    password: NewPassword
