"""What a browser carries: the signed session cookie that ties it to an accounts session, and the random
seed its CSRF tokens are derived from.

Session cookie: ``<user id>.<session id>.<HMAC>`` under a key derived from the app secret. It names an
``AuthSession`` row (the one the accounts service opened at sign-in), so signing out, a password reset or
an expired session ends it on the server, whatever the browser still holds.

CSRF: the browser gets a random seed in a cookie of its own; the token its forms and htmx requests send is
the HMAC of that seed. Another site can make the browser send the cookie but cannot read it or compute
the token, so a forged form post is refused.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.accounts.service import auth
from emporium.core.config import Settings
from emporium.core.logging import bind_user
from emporium.core.security import constant_time_equals
from emporium.web.security import derived_key, secure_cookies, sign

if TYPE_CHECKING:
    from emporium.accounts.models import User

SESSION_COOKIE = "shop_session"
CSRF_COOKIE = "shop_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_SEED = re.compile(r"[A-Za-z0-9_-]{43}")
_SESSION = re.compile(r"([1-9][0-9]{0,17})\.([1-9][0-9]{0,17})\.([A-Za-z0-9_-]{43})")
CSRF_SEED_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class WebSession:
    user_id: int
    session_id: int


@dataclass
class Browser:
    settings: Settings
    csrf_seed: str
    seed_is_new: bool
    session: WebSession | None
    # Cookie changes this request makes; written by ``apply`` on the response that is finally sent.
    new_session_cookie: str | None = None
    drop_session_cookie: bool = False

    @classmethod
    def of(cls, request: Request) -> Browser:
        """The request's browser, read once and shared by every dependency of the request."""
        found = getattr(request.state, "browser", None)
        if isinstance(found, Browser):
            return found
        settings: Settings = request.app.state.settings
        seed = request.cookies.get(CSRF_COOKIE, "")
        is_new = not _SEED.fullmatch(seed)
        browser = cls(
            settings=settings,
            csrf_seed=secrets.token_urlsafe(32) if is_new else seed,
            seed_is_new=is_new,
            session=_read_session(settings, request.cookies.get(SESSION_COOKIE)),
        )
        browser.drop_session_cookie = SESSION_COOKIE in request.cookies and browser.session is None
        request.state.browser = browser
        return browser

    # CSRF ---------------------------------------------------------------------------------------------

    @property
    def csrf_token(self) -> str:
        return sign(derived_key(self.settings, "csrf"), self.csrf_seed)

    def csrf_accepts(self, presented: str | None) -> bool:
        # A seed made for this very request was never given to any page: nothing can carry its token.
        if self.seed_is_new or not presented:
            return False
        return constant_time_equals(presented, self.csrf_token)

    # Session ------------------------------------------------------------------------------------------

    async def customer(self, session: AsyncSession) -> User | None:
        """The signed-in customer, if the cookie names a live session (one statement); else None."""
        if self.session is None:
            return None
        user = await auth.user_for_session(session, self.session.user_id, self.session.session_id)
        if user is None:
            self.session = None
            self.drop_session_cookie = True
        else:
            bind_user(user.id)
        return user

    def signed_in(self, user_id: int, session_id: int) -> None:
        value = f"{user_id}.{session_id}"
        self.session = WebSession(user_id, session_id)
        self.new_session_cookie = f"{value}.{sign(derived_key(self.settings, 'session'), value)}"
        self.drop_session_cookie = False

    def signed_out(self) -> None:
        self.session = None
        self.new_session_cookie = None
        self.drop_session_cookie = True

    def apply(self, response: Response, *, give_seed: bool = True) -> None:
        secure = secure_cookies(self.settings)
        if self.seed_is_new and give_seed:
            response.set_cookie(
                CSRF_COOKIE,
                self.csrf_seed,
                max_age=CSRF_SEED_MAX_AGE,
                httponly=True,
                samesite="lax",
                secure=secure,
            )
        if self.new_session_cookie is not None:
            response.set_cookie(
                SESSION_COOKIE,
                self.new_session_cookie,
                max_age=self.settings.refresh_token_ttl_seconds,
                httponly=True,
                samesite="lax",
                secure=secure,
            )
        elif self.drop_session_cookie:
            response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=secure)


def _read_session(settings: Settings, cookie: str | None) -> WebSession | None:
    found = _SESSION.fullmatch(cookie or "")
    if found is None:
        return None
    user_id, session_id, signature = found.groups()
    expected = sign(derived_key(settings, "session"), f"{user_id}.{session_id}")
    if not constant_time_equals(signature, expected):
        return None
    return WebSession(int(user_id), int(session_id))


def session_user_id(settings: Settings, cookie: str | None) -> int | None:
    """The user a well-signed session cookie names, without asking the database whether the session lives
    (enough to count the browser's requests as that user's)."""
    found = _read_session(settings, cookie)
    return found.user_id if found else None
