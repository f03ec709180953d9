"""The account area: registering, confirming the e-mail address, resetting a forgotten password, and the
signed-in customer's profile, password, notification preferences, data export and account deletion.

Every action goes through the accounts services as the API's routes do, so their rules (the same answer
for taken and new addresses, the password policy, the rate limit of the sign-in routes, sessions revoked
after a password change, erasure) hold here unchanged. Forms are read by hand rather than through
FastAPI's ``Form`` parameters: bad input must re-show the form with its values and the reasons next to
the fields, not end on an error page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from emporium.accounts import schemas
from emporium.accounts.api import auth_rate_limit
from emporium.accounts.privacy import erase_user, export_user
from emporium.accounts.profile import profiles
from emporium.accounts.service import auth
from emporium.core.errors import BadRequest, EmporiumError
from emporium.core.messages import field_name, human_message
from emporium.notifications import preferences
from emporium.notifications.channels import sendable_channels
from emporium.notifications.schemas import PreferencesRead, PreferencesUpdate
from emporium.web.page import NO_STORE, PageContext, ShopPage
from emporium.web.places import home_country
from emporium.web.routing import page_router

if TYPE_CHECKING:
    from emporium.accounts.models import User

router = page_router(prefix="/account")

RateLimited = [Depends(auth_rate_limit)]
Flag = Annotated[bool, Query()]
TokenParam = Annotated[str, Query(max_length=4096)]
FieldErrors = dict[str, str]
CHANNEL_LABELS = {"email": "E-mail", "sms": "Text message", "whatsapp": "WhatsApp", "push": "Push"}
CATEGORY_LABELS = {
    "account": ("Account and security", "Sign-in, password and account notices. E-mail always stays on."),
    "orders": ("My orders", "Confirmations, payments, shipping and delivery."),
    "marketing": ("Offers and news", "Now and then: new products and sales."),
    "back_in_stock": ("Back in stock", "When something you asked about can be bought again."),
    "abandoned_cart": ("Cart reminders", "A reminder of what you left in your cart."),
    "review_request": ("Review requests", "After a delivery: how did you like it?"),
}


# Shared by the account pages ------------------------------------------------------------------------------


def sign_in_first(page: PageContext, path: str | None = None) -> RedirectResponse:
    """Send a guest to sign in, then back to the page they asked for (or ``path``, a page for a POST)."""
    target = path or page.request.url.path
    if path is None and page.request.url.query:
        target += "?" + page.request.url.query
    return page.redirect("/account/sign-in?" + urlencode({"next": target}))


async def form_values(request: Request, names: tuple[str, ...]) -> dict[str, str]:
    """The text of the named fields (missing ones and uploaded files read as empty)."""
    form = await request.form()
    values = {}
    for name in names:
        value = form.get(name)
        values[name] = value if isinstance(value, str) else ""
    return values


def optional(value: str) -> str | None:
    """An optional field left empty means "none"."""
    return value.strip() or None


def field_errors(exc: ValidationError) -> FieldErrors:
    """Pydantic's complaints, one plain sentence per field (from the shop's table of messages)."""
    errors: FieldErrors = {}
    for error in exc.errors():
        field = field_name(error["loc"])
        errors.setdefault(field, human_message(field, error))
    return errors


def refusal_errors(exc: EmporiumError, default_field: str = "form") -> FieldErrors:
    """A service's refusal, by the field it names (or above the form)."""
    errors: FieldErrors = {}
    for detail in exc.details:
        errors.setdefault(
            str(detail.get("field") or default_field), str(detail.get("message") or exc.message)
        )
    return errors or {default_field: exc.message}


def without_secrets(values: dict[str, str]) -> dict[str, str]:
    """A form re-shown keeps what was typed, except passwords."""
    return {k: ("" if "password" in k else v) for k, v in values.items()}


# Registration and e-mail confirmation ---------------------------------------------------------------------

REGISTER = "web/account/register.html.j2"
REGISTER_FIELDS = ("email", "password", "first_name", "last_name")


@router.get("/register", response_class=HTMLResponse, response_model=None)
async def register_page(page: ShopPage, sent: Flag = False) -> HTMLResponse | RedirectResponse:
    if page.customer is not None and not sent:
        return page.redirect("/account")
    values = dict.fromkeys(REGISTER_FIELDS, "")
    return await page.render(REGISTER, title="Create an account", values=values, errors={}, sent=sent)


@router.post("/register", response_class=HTMLResponse, response_model=None, dependencies=RateLimited)
async def register(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    values = await form_values(request, REGISTER_FIELDS)
    try:
        data = schemas.RegisterIn(
            email=values["email"].strip(),
            password=values["password"],
            first_name=optional(values["first_name"]),
            last_name=optional(values["last_name"]),
        )
    except ValidationError as exc:
        return await page.render(
            REGISTER,
            status_code=422,
            title="Create an account",
            values=without_secrets(values),
            errors=field_errors(exc),
            sent=False,
        )
    # The same answer whether or not the address was taken: its owner hears about it by e-mail.
    await auth.register(page.session, page.ctx, data)
    return page.redirect("/account/register?sent=1")


@router.get("/verify-email", response_class=HTMLResponse, response_model=None, dependencies=RateLimited)
async def verify_email(page: ShopPage, token: TokenParam = "") -> HTMLResponse:
    """The link of the verification mail lands here; opening it confirms the address."""
    try:
        checked = schemas.VerifyEmailIn(token=token)
        await auth.verify_email(page.session, checked.token)
    except (ValidationError, BadRequest):
        return await page.render(
            "web/account/verify_email.html.j2", status_code=400, title="Link not valid", verified=False
        )
    return await page.render("web/account/verify_email.html.j2", title="Address confirmed", verified=True)


@router.post("/verify-email/resend", response_model=None, dependencies=RateLimited)
async def resend_verification(page: ShopPage) -> RedirectResponse:
    """A new verification link for the signed-in customer (the service ignores a confirmed address)."""
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account")
    await auth.resend_verification(page.session, page.ctx, customer.email)
    return page.redirect("/account?resent=1")


# Forgotten password ----------------------------------------------------------------------------------------

FORGOT = "web/account/forgot_password.html.j2"
RESET = "web/account/reset_password.html.j2"


@router.get("/forgot-password", response_class=HTMLResponse)
async def forgot_password_page(page: ShopPage, sent: Flag = False) -> HTMLResponse:
    return await page.render(FORGOT, title="Forgot your password?", email="", errors={}, sent=sent)


@router.post("/forgot-password", response_class=HTMLResponse, response_model=None, dependencies=RateLimited)
async def forgot_password(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    values = await form_values(request, ("email",))
    try:
        data = schemas.EmailIn(email=values["email"].strip())
    except ValidationError as exc:
        return await page.render(
            FORGOT,
            status_code=422,
            title="Forgot your password?",
            email=values["email"],
            errors=field_errors(exc),
            sent=False,
        )
    await auth.forgot_password(page.session, page.ctx, data.email)
    return page.redirect("/account/forgot-password?sent=1")


def _token_shape_ok(token: str) -> bool:
    try:
        schemas.VerifyEmailIn(token=token)
    except ValidationError:
        return False
    return True


@router.get("/reset-password", response_class=HTMLResponse)
async def reset_password_page(page: ShopPage, token: TokenParam = "", done: Flag = False) -> HTMLResponse:
    """The link of the reset mail lands here: a form for the new password, carrying the token."""
    if done:
        return await page.render(RESET, title="Password changed", state="done", token="", errors={})
    if not _token_shape_ok(token):
        return await page.render(
            RESET, status_code=400, title="Link not valid", state="invalid", token="", errors={}
        )
    return await page.render(RESET, title="Choose a new password", state="form", token=token, errors={})


@router.post("/reset-password", response_class=HTMLResponse, response_model=None, dependencies=RateLimited)
async def reset_password(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    values = await form_values(request, ("token", "password"))
    if not _token_shape_ok(values["token"]):
        return await page.render(
            RESET, status_code=400, title="Link not valid", state="invalid", token="", errors={}
        )
    try:
        data = schemas.ResetPasswordIn(token=values["token"], password=values["password"])
    except ValidationError as exc:
        return await page.render(
            RESET,
            status_code=422,
            title="Choose a new password",
            state="form",
            token=values["token"],
            errors=field_errors(exc),
        )
    try:
        await auth.reset_password(page.session, page.ctx, data.token, data.password)
    except BadRequest:
        return await page.render(
            RESET, status_code=400, title="Link not valid", state="invalid", token="", errors={}
        )
    # Every session of the account has just ended, this browser's included.
    page.browser.signed_out()
    return page.redirect("/account/reset-password?done=1")


# The signed-in customer's own pages -------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse, response_model=None)
async def overview(page: ShopPage, resent: Flag = False) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    addresses = await profiles.addresses(page.session, customer)
    default = next((a for a in addresses if a.is_default), None)
    return await page.render(
        "web/account/overview.html.j2",
        title="Your account",
        section="overview",
        address_count=len(addresses),
        default_address=default,
        resent=resent,
    )


PROFILE = "web/account/profile.html.j2"
PROFILE_FIELDS = ("first_name", "last_name", "phone")


def _profile_values(customer: User) -> dict[str, str]:
    return {name: getattr(customer, name) or "" for name in PROFILE_FIELDS}


async def _home_region(page: PageContext, customer: User) -> str:
    """Where a number typed without its country code is read: the default address's country, else the
    shop's own."""
    addresses = await profiles.addresses(page.session, customer)
    default = next((a for a in addresses if a.is_default), None)
    return default.country if default is not None else await home_country(page)


@router.get("/profile", response_class=HTMLResponse, response_model=None)
async def profile_page(page: ShopPage, saved: Flag = False) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    return await page.render(
        PROFILE,
        title="Your details",
        section="profile",
        values=_profile_values(customer),
        errors={},
        saved=saved,
    )


@router.post("/profile", response_class=HTMLResponse, response_model=None)
async def update_profile(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/profile")
    values = await form_values(request, PROFILE_FIELDS)
    try:
        data = schemas.ProfileUpdate.model_validate(
            {name: optional(values[name]) for name in PROFILE_FIELDS},
            context={schemas.PHONE_REGION: await _home_region(page, customer)},
        )
    except ValidationError as exc:
        return await page.render(
            PROFILE,
            status_code=422,
            title="Your details",
            section="profile",
            values=values,
            errors=field_errors(exc),
            saved=False,
        )
    profiles.update_profile(customer, data)
    await page.session.flush()
    return page.redirect("/account/profile?saved=1")


PASSWORD_PAGE = "web/account/password.html.j2"  # noqa: S105 - a template name


@router.get("/password", response_class=HTMLResponse, response_model=None)
async def password_page(page: ShopPage, saved: Flag = False) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page)
    return await page.render(
        PASSWORD_PAGE, title="Change your password", section="password", errors={}, saved=saved
    )


@router.post("/password", response_class=HTMLResponse, response_model=None)
async def change_password(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    customer, web_session = page.customer, page.browser.session
    if customer is None or web_session is None:
        return sign_in_first(page, "/account/password")
    values = await form_values(request, ("current_password", "new_password"))
    try:
        data = schemas.PasswordChange(**values)
        # Other sessions are revoked; this browser's stays signed in.
        await profiles.change_password(page.session, page.ctx, customer, data, web_session.session_id)
    except ValidationError as exc:
        errors = field_errors(exc)
    except EmporiumError as exc:
        errors = refusal_errors(exc, "current_password")
    else:
        return page.redirect("/account/password?saved=1")
    return await page.render(
        PASSWORD_PAGE,
        status_code=422,
        title="Change your password",
        section="password",
        errors=errors,
        saved=False,
    )


NOTIFICATIONS = "web/account/notifications.html.j2"


@router.get("/notifications", response_class=HTMLResponse, response_model=None)
async def notifications_page(page: ShopPage, saved: Flag = False) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    prefs = await preferences.preferences_of(page.session, page.settings, customer.id)
    return await _notifications_form(page, prefs, errors={}, saved=saved)


async def _notifications_form(
    page: PageContext,
    prefs: PreferencesRead,
    *,
    errors: FieldErrors,
    saved: bool,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    return await page.render(
        NOTIFICATIONS,
        title="Notifications",
        section="notifications",
        prefs=prefs,
        channel_labels=CHANNEL_LABELS,
        category_labels=CATEGORY_LABELS,
        values=values or {"quiet_hours": prefs.quiet_hours or "", "time_zone": prefs.time_zone or ""},
        errors=errors,
        saved=saved,
    )


@router.post("/notifications", response_class=HTMLResponse, response_model=None)
async def update_notifications(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/notifications")
    form = await request.form()
    # An unticked box is not sent at all: every offered box not in the form is switched off.
    channels = sendable_channels(page.settings)
    choices = [
        {"category": category, "channel": channel, "enabled": form.get(f"{category}:{channel}") == "on"}
        for category in CATEGORY_LABELS
        for channel in channels
    ]
    values = {name: str(form.get(name) or "").strip() for name in ("quiet_hours", "time_zone")}
    try:
        data = PreferencesUpdate(
            choices=choices, quiet_hours=values["quiet_hours"] or None, time_zone=values["time_zone"] or None
        )
    except ValidationError as exc:
        prefs = await preferences.preferences_of(page.session, page.settings, customer.id)
        return await _notifications_form(page, prefs, errors=field_errors(exc), saved=False, values=values)
    await preferences.update_preferences(
        page.session, page.settings, customer.id, data, source="account_page"
    )
    return page.redirect("/account/notifications?saved=1")


# Privacy: export and erasure ----------------------------------------------------------------------------


@router.get("/privacy", response_class=HTMLResponse, response_model=None)
async def privacy_page(page: ShopPage) -> HTMLResponse | RedirectResponse:
    if page.customer is None:
        return sign_in_first(page)
    return await page.render("web/account/privacy.html.j2", title="Your data", section="privacy", errors={})


@router.get("/export", response_model=None)
async def export_data(page: ShopPage) -> Response:
    """Everything held about the customer, as the API's export, downloaded as a JSON file."""
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    data: dict[str, Any] = await export_user(page.session, customer)
    response = JSONResponse(
        {"success": True, "data": data, "message": None},
        headers={
            "Content-Disposition": f'attachment; filename="emporium-export-{customer.id}.json"',
            "Cache-Control": NO_STORE,
            "X-Content-Type-Options": "nosniff",
        },
    )
    page.browser.apply(response)
    return response


@router.post("/delete", response_class=HTMLResponse, response_model=None)
async def delete_account(request: Request, page: ShopPage) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page, "/account/privacy")
    values = await form_values(request, ("password", "confirm"))
    errors: FieldErrors = {}
    if values["confirm"] != "on":
        errors["confirm"] = "Tick the box to confirm that the account should be deleted."
    try:
        data = schemas.AccountDelete(password=values["password"])
    except ValidationError:
        errors["password"] = "Enter your password to confirm."  # noqa: S105 - a message, not a secret
    else:
        if not errors:
            try:
                await erase_user(page.session, page.ctx, customer, data.password)
            except EmporiumError as exc:
                errors = refusal_errors(exc, "password")
    if errors:
        return await page.render(
            "web/account/privacy.html.j2",
            status_code=422,
            title="Your data",
            section="privacy",
            errors=errors,
        )
    # Erasure revoked every session; the cookie goes too.
    page.browser.signed_out()
    return page.redirect("/account/deleted")


@router.get("/deleted", response_class=HTMLResponse)
async def deleted_page(page: ShopPage) -> HTMLResponse:
    return await page.render("web/account/deleted.html.j2", title="Account deleted")
