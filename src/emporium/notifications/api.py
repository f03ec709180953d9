"""Staff view of the development mailbox (mail kept when no SMTP server is configured); a customer's in-app
inbox; the browsers a customer subscribed to web push."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query

from emporium.accounts.auth import CurrentUser
from emporium.core.context import Ctx
from emporium.core.errors import NotFound, errors_doc
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ListEnvelope, Pagination, ok
from emporium.core.session import DbSession
from emporium.notifications.auth import MailboxReader, OwnNotification
from emporium.notifications.config import PushSettings
from emporium.notifications.inbox import DEFAULT_LIMIT, MAX_LIMIT, inbox
from emporium.notifications.inbox_schemas import (
    InboxEnvelope,
    InboxPagination,
    MarkedRead,
    NotificationRead,
    UnreadCount,
)
from emporium.notifications.push import push_subscriptions
from emporium.notifications.push_schemas import (
    PushEndpointIn,
    PushRemoved,
    PushSubscribed,
    PushSubscriptionIn,
    VapidPublicKeyRead,
)
from emporium.notifications.schemas import MailRead
from emporium.notifications.service import notifications

router = APIRouter(prefix=f"{API_PREFIX}/admin/mailbox", tags=["admin"])
inbox_router = APIRouter(prefix=f"{API_PREFIX}/notifications", tags=["notifications"])
push_router = APIRouter(prefix=f"{API_PREFIX}/push", tags=["notifications"])


@router.get("", responses=errors_doc(401, 403, 422))
async def list_mail(
    _: MailboxReader,
    session: DbSession,
    page: Page,
    to: Annotated[str | None, Query(max_length=320)] = None,
) -> ListEnvelope[MailRead]:
    rows, total = await notifications.mailbox(session, page, to)
    return ListEnvelope(
        data=[MailRead.model_validate(r) for r in rows],
        pagination=Pagination.of(page.page, page.limit, total),
    )


@router.get("/{message_id}", responses=errors_doc(401, 403, 404, 422))
async def get_mail(message_id: IdPath, _: MailboxReader, session: DbSession) -> Envelope[MailRead]:
    message = await notifications.mail_message(session, message_id)
    if message is None:
        raise NotFound("No such message.")
    return ok(MailRead.model_validate(message))


# The in-app inbox -----------------------------------------------------------------------------------------


@inbox_router.get("", responses=errors_doc(401, 422))
async def list_notifications(
    user: CurrentUser,
    session: DbSession,
    after: Annotated[
        str | None, Query(max_length=200, description="The next_cursor of the last page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    unread_only: bool = False,
) -> InboxEnvelope:
    """The caller's notifications, newest first, a keyset page at a time (``?after=<next_cursor>``)."""
    found = await inbox.page(session, user.id, after=after, limit=limit, unread_only=unread_only)
    return InboxEnvelope(
        data=found.rows,
        pagination=InboxPagination(
            limit=limit, next_cursor=found.next_cursor, unread_count=found.unread_count
        ),
    )


@inbox_router.get("/unread-count", responses=errors_doc(401))
async def unread_count(user: CurrentUser, session: DbSession) -> Envelope[UnreadCount]:
    return ok(UnreadCount(unread_count=await inbox.unread_count(session, user.id)))


@inbox_router.put("/read-all", responses=errors_doc(401))
async def mark_all_read(user: CurrentUser, session: DbSession) -> Envelope[MarkedRead]:
    marked = await inbox.mark_all_read(session, user.id)
    return ok(MarkedRead(marked=marked, unread_count=0), "All notifications marked as read")


@inbox_router.put("/{notification_id}/read", responses=errors_doc(401, 404, 422))
async def mark_read(notification: OwnNotification, session: DbSession) -> Envelope[NotificationRead]:
    return ok(await inbox.mark_read(session, notification), "Notification marked as read")


# Web push subscriptions -------------------------------------------------------------------------------------


@push_router.get("/vapid-public-key", responses=errors_doc(404))
async def vapid_public_key(ctx: Ctx) -> Envelope[VapidPublicKeyRead]:
    """The key browsers subscribe with (``applicationServerKey``); 404 when the shop sends no push."""
    settings = ctx.settings.part(PushSettings)
    return ok(VapidPublicKeyRead(public_key=push_subscriptions.public_key(settings)))


@push_router.post("/subscriptions", status_code=201, responses=errors_doc(401, 404, 422))
async def subscribe(
    body: PushSubscriptionIn,
    user: CurrentUser,
    ctx: Ctx,
    session: DbSession,
    user_agent: Annotated[str | None, Header(max_length=1000)] = None,
) -> Envelope[PushSubscribed]:
    settings = ctx.settings.part(PushSettings)
    subscription_id = await push_subscriptions.subscribe(session, settings, user.id, body, user_agent)
    return ok(PushSubscribed(id=subscription_id), "Push notifications are on for this browser")


@push_router.delete("/subscriptions", responses=errors_doc(401, 422))
async def unsubscribe(body: PushEndpointIn, user: CurrentUser, session: DbSession) -> Envelope[PushRemoved]:
    """Forget the caller's subscription at ``endpoint`` (another customer's is not touched)."""
    removed = await push_subscriptions.unsubscribe(session, user.id, body.endpoint)
    return ok(PushRemoved(removed=removed))
