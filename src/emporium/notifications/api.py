"""Staff view of the development mailbox (mail kept when no SMTP server is configured)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from emporium.core.errors import NotFound, errors_doc
from emporium.core.pagination import Page
from emporium.core.params import API_PREFIX, IdPath
from emporium.core.responses import Envelope, ListEnvelope, Pagination, ok
from emporium.core.session import DbSession
from emporium.notifications.auth import MailboxReader
from emporium.notifications.schemas import MailRead
from emporium.notifications.service import notifications

router = APIRouter(prefix=f"{API_PREFIX}/admin/mailbox", tags=["admin"])


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
