"""Routes of the messaging providers' webhooks (not rate limited: a provider retries what is refused; their
bodies are bounded like the payment webhooks')."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, Response

from emporium.core.context import Ctx
from emporium.core.errors import errors_doc
from emporium.core.params import API_PREFIX
from emporium.core.responses import Envelope, ok
from emporium.core.session import DbSession
from emporium.notifications.webhooks import twilio, whatsapp
from emporium.notifications.webhooks.common import called_url

router = APIRouter(prefix=f"{API_PREFIX}/webhooks", tags=["webhooks"])


def _url(ctx: Ctx, request: Request) -> str:
    return called_url(ctx.settings, request.url.path, request.scope.get("query_string", b""))


@router.post("/twilio-status", responses=errors_doc(400))
async def twilio_status(request: Request, ctx: Ctx, session: DbSession) -> Envelope[dict[str, bool]]:
    """Twilio's status callback of an SMS the shop sent, signed with ``X-Twilio-Signature``; a repeat is
    acknowledged and changes nothing."""
    new = await twilio.receive_status(
        session, ctx.settings, _url(ctx, request), await request.body(), request.headers
    )
    return ok({"received": True, "duplicate": not new})


@router.post(
    "/twilio-inbound",
    responses={**errors_doc(400), 200: {"content": {"application/xml": {}}, "description": "TwiML"}},
)
async def twilio_inbound(request: Request, ctx: Ctx, session: DbSession) -> Response:
    """A text sent to the shop's number (STOP, START, HELP...), signed with ``X-Twilio-Signature``; answered
    with TwiML (the help text for HELP, nothing otherwise)."""
    twiml = await twilio.receive_inbound(
        session, ctx.settings, _url(ctx, request), await request.body(), request.headers
    )
    return Response(twiml, media_type="application/xml")


@router.get(
    "/whatsapp",
    responses={**errors_doc(403, 422), 200: {"content": {"text/plain": {}}, "description": "The challenge"}},
)
async def whatsapp_verify(
    ctx: Ctx,
    mode: Annotated[str | None, Query(alias="hub.mode", max_length=20)] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token", max_length=200)] = None,
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=200)] = "",
) -> PlainTextResponse:
    """Meta's subscription check: the challenge echoed when the verify token is the shop's."""
    return PlainTextResponse(whatsapp.verify_subscription(ctx.settings, mode, token, challenge))


@router.post("/whatsapp", responses=errors_doc(400))
async def whatsapp_events(request: Request, ctx: Ctx, session: DbSession) -> Envelope[dict[str, int]]:
    """Delivery statuses and inbound messages, signed with ``X-Hub-Signature-256``; each acted on once."""
    new = await whatsapp.receive_events(session, ctx.settings, await request.body(), request.headers)
    return ok({"new_events": new})
