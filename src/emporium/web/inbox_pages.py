"""The in-app inbox in the account area, the bell in the header, and the "Turn on notifications" control.

``/account/inbox`` lists the signed-in customer's notifications a keyset page at a time with forms to mark
them read. The bell is rendered by the layout only for a signed-in customer and fills in its count from
``/account/inbox/bell`` after the page has loaded (htmx), so an anonymous page carries nothing of it and a
signed-in page's own statements do not change. The push control (push.js) registers the service worker
served at ``/sw.js`` and sends the browser's subscription to ``/account/push/subscriptions`` with the
page's CSRF token; the API's ``/api/v1/push/subscriptions`` does the same for a client with a token.
Everything goes through the notifications services, as the API's routes do.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from emporium.core.errors import EmporiumError, error_body, validation_details
from emporium.core.params import IdPath
from emporium.notifications.config import PushSettings
from emporium.notifications.inbox import BELL_CAP, inbox
from emporium.notifications.push import push_subscriptions
from emporium.notifications.push_schemas import PushEndpointIn, PushSubscriptionIn
from emporium.web.account_pages import sign_in_first
from emporium.web.page import NO_STORE, ShopPage
from emporium.web.routing import page_router

router = page_router()

INBOX = "web/account/inbox.html.j2"
BELL = "web/fragments/bell.html.j2"
INBOX_PAGE_SIZE = 20
MAX_BODY = 4096
# The service worker is served at the root so that its scope is the whole shop; browsers fetch it again
# at least daily and on every navigation once it is older than a day, so it is never kept long.
SERVICE_WORKER_HEADERS = {
    "Cache-Control": "no-cache",
    "Service-Worker-Allowed": "/",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'",
}
_SERVICE_WORKER: bytes | None = None


def service_worker_source() -> bytes:
    global _SERVICE_WORKER
    if _SERVICE_WORKER is None:
        _SERVICE_WORKER = resources.files("emporium.web").joinpath("static", "sw.js").read_bytes()
    return _SERVICE_WORKER


@router.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    return Response(
        service_worker_source(), media_type="text/javascript; charset=utf-8", headers=SERVICE_WORKER_HEADERS
    )


@router.get("/account/inbox", response_class=HTMLResponse, response_model=None)
async def inbox_page(
    page: ShopPage, after: Annotated[str | None, Query(max_length=200)] = None
) -> HTMLResponse | RedirectResponse:
    customer = page.customer
    if customer is None:
        return sign_in_first(page)
    found = await inbox.page(page.session, customer.id, after=after, limit=INBOX_PAGE_SIZE)
    settings = page.settings.part(PushSettings)
    return await page.render(
        INBOX,
        title="Inbox",
        section="inbox",
        notifications=found.rows,
        next_cursor=found.next_cursor,
        unread_count=found.unread_count,
        vapid_public_key=settings.vapid_public_key if settings.push_configured else None,
    )


@router.post("/account/inbox/read-all", response_model=None)
async def read_all(page: ShopPage) -> RedirectResponse:
    if page.customer is None:
        return sign_in_first(page, "/account/inbox")
    await inbox.mark_all_read(page.session, page.customer.id)
    return page.redirect("/account/inbox")


@router.post("/account/inbox/{notification_id}/read", response_model=None)
async def read_one(notification_id: IdPath, page: ShopPage) -> RedirectResponse:
    """Marks the customer's own notification read; another's id changes nothing (the service names the
    user in its statement) and ends on the inbox all the same."""
    if page.customer is None:
        return sign_in_first(page, "/account/inbox")
    found = await inbox.own(page.session, page.customer.id, notification_id)
    if found is not None:
        await inbox.mark_read(page.session, found)
    return page.redirect("/account/inbox")


@router.get("/account/inbox/bell", response_class=HTMLResponse)
async def bell(page: ShopPage) -> HTMLResponse:
    """The header's bell with the unread count; empty for a visitor who is not signed in."""
    count = 0 if page.customer is None else await inbox.unread_count(page.session, page.customer.id)
    shown = f"{BELL_CAP}+" if count > BELL_CAP else str(count)
    return await page.fragment(BELL, unread=count, shown=shown)


# The "Turn on notifications" control's calls (JSON, with the page's CSRF token in X-CSRF-Token). ---------


def _json_error(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, details or []), status_code=status, headers={"Cache-Control": NO_STORE}
    )


async def _body(page: ShopPage) -> bytes | None:
    body = await page.request.body()
    return body if len(body) <= MAX_BODY else None


@router.post("/account/push/subscriptions", response_model=None)
async def push_subscribe(page: ShopPage) -> JSONResponse:
    if page.customer is None:
        return _json_error(401, "UNAUTHORIZED", "Sign in to turn on notifications.")
    body = await _body(page)
    if body is None:
        return _json_error(413, "PAYLOAD_TOO_LARGE", "The subscription is too large.")
    try:
        subscription = PushSubscriptionIn.model_validate_json(body)
        found = await push_subscriptions.subscribe(
            page.session,
            page.settings.part(PushSettings),
            page.customer.id,
            subscription,
            page.request.headers.get("user-agent"),
        )
    except ValidationError as exc:
        return _json_error(
            422, "VALIDATION_ERROR", "The subscription is not valid.", validation_details(exc.errors())
        )
    except EmporiumError as exc:
        return _json_error(exc.status_code, exc.code, exc.message, list(exc.details))
    return JSONResponse(
        {"success": True, "data": {"id": found}}, status_code=201, headers={"Cache-Control": NO_STORE}
    )


@router.delete("/account/push/subscriptions", response_model=None)
async def push_unsubscribe(page: ShopPage) -> JSONResponse:
    if page.customer is None:
        return _json_error(401, "UNAUTHORIZED", "Sign in to turn off notifications.")
    body = await _body(page)
    if body is None:
        return _json_error(413, "PAYLOAD_TOO_LARGE", "The request is too large.")
    try:
        endpoint = PushEndpointIn.model_validate_json(body).endpoint
    except ValidationError as exc:
        return _json_error(
            422, "VALIDATION_ERROR", "The request is not valid.", validation_details(exc.errors())
        )
    removed = await push_subscriptions.unsubscribe(page.session, page.customer.id, endpoint)
    return JSONResponse({"success": True, "data": {"removed": removed}}, headers={"Cache-Control": NO_STORE})
