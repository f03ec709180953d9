"""The staff session cookie: separate from the shopper's, stricter, and unable to outlive a short idle spell.

Value: ``<user id>.<session id>.<stage>.<issued at>.<HMAC>`` under a key derived from the app secret for this
purpose alone, so a storefront cookie cannot be replayed here. It names an ``AuthSession`` row that the
accounts service opened at sign-in: ending that session (sign-out, deactivation, the idle limit) ends the
cookie's worth on the server. ``stage`` is ``p`` while a staff member with two-factor sign-in has given their
password but not yet their code, then ``s``; a pending cookie opens only the code page, and for five minutes.

Outside development the cookie is ``__Host-`` prefixed (Secure, Path=/, no Domain: no sub-domain can set
or read it) and SameSite=Strict, so no other site can make a browser send it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response

from emporium.core.config import Settings
from emporium.core.security import constant_time_equals
from emporium.web.security import derived_key, secure_cookies, sign

DEV_COOKIE = "emporium_staff"
HOST_COOKIE = "__Host-emporium_staff"
PENDING_SECONDS = 300
_VALUE = re.compile(r"([1-9][0-9]{0,17})\.([1-9][0-9]{0,17})\.([ps])\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")

Stage = Literal["p", "s"]


@dataclass(frozen=True)
class StaffCookie:
    user_id: int
    session_id: int
    stage: Stage
    issued_at: int

    @property
    def pending(self) -> bool:
        return self.stage == "p"


def cookie_name(settings: Settings) -> str:
    return HOST_COOKIE if secure_cookies(settings) else DEV_COOKIE


def read_cookie(settings: Settings, request: Request) -> StaffCookie | None:
    return parse_cookie(settings, request.cookies.get(cookie_name(settings), ""))


def parse_cookie(settings: Settings, value: str) -> StaffCookie | None:
    """The cookie's parts when this app signed it (a pending one only for its first five minutes)."""
    found = _VALUE.fullmatch(value)
    if found is None:
        return None
    user_id, session_id, stage, issued_at, signature = found.groups()
    body = f"{user_id}.{session_id}.{stage}.{issued_at}"
    if not constant_time_equals(signature, sign(derived_key(settings, "staff-session"), body)):
        return None
    cookie = StaffCookie(int(user_id), int(session_id), "p" if stage == "p" else "s", int(issued_at))
    if cookie.pending and time.time() - cookie.issued_at > PENDING_SECONDS:
        return None
    return cookie


def write_cookie(settings: Settings, response: Response, user_id: int, session_id: int, stage: Stage) -> None:
    body = f"{user_id}.{session_id}.{stage}.{int(time.time())}"
    value = f"{body}.{sign(derived_key(settings, 'staff-session'), body)}"
    response.set_cookie(
        cookie_name(settings),
        value,
        # The server's idle limit ends the session sooner; the cookie itself lasts as long as a session may.
        max_age=settings.refresh_token_ttl_seconds,
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
    )


def drop_cookie(settings: Settings, response: Response) -> None:
    response.delete_cookie(
        cookie_name(settings), path="/", httponly=True, samesite="strict", secure=secure_cookies(settings)
    )
