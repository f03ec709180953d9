"""Flash messages: a line shown once on the page a redirect leads to ("Order EMP-1001 shipped.").

Carried in a short-lived signed cookie rather than stored server-side: it holds nothing secret, and the
signature keeps another site from planting words in the back office.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Literal

from fastapi import Request, Response

from emporium.core.config import Settings
from emporium.core.security import constant_time_equals
from emporium.web.security import derived_key, secure_cookies, sign

FLASH_COOKIE = "emporium_flash"
FlashKind = Literal["success", "error", "info"]
KINDS: frozenset[str] = frozenset({"success", "error", "info"})
MAX_LENGTH = 500


@dataclass(frozen=True)
class Flash:
    kind: FlashKind
    message: str


def set_flash(settings: Settings, response: Response, flash: Flash) -> None:
    body = base64.urlsafe_b64encode(json.dumps([flash.kind, flash.message[:MAX_LENGTH]]).encode()).decode()
    value = f"{body}.{sign(derived_key(settings, 'flash'), body)}"
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=60,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
    )


def clear_flash(settings: Settings, request: Request, response: Response) -> None:
    """Drop the shown message's cookie, so it shows once."""
    if FLASH_COOKIE in request.cookies:
        response.delete_cookie(
            FLASH_COOKIE, path="/admin", httponly=True, samesite="strict", secure=secure_cookies(settings)
        )


def read_flash(settings: Settings, request: Request) -> Flash | None:
    """The waiting message, if there is one and this app signed it."""
    raw = request.cookies.get(FLASH_COOKIE)
    if raw is None:
        return None
    body, _, signature = raw.rpartition(".")
    if not body or not constant_time_equals(signature, sign(derived_key(settings, "flash"), body)):
        return None
    try:
        kind, message = json.loads(base64.urlsafe_b64decode(body))
    except (binascii.Error, ValueError, TypeError):
        return None
    if kind not in KINDS or not isinstance(message, str):
        return None
    return Flash(kind=kind, message=message)
