"""Browsers subscribed to web push: a signed-in customer turns push on (the browser's subscription is kept)
or off (it is forgotten), through the API or the storefront's "Turn on notifications" control.

An endpoint must be on a known push service (``push_service_hosts``): the shop posts to it later, so an
address of the customer's choosing would let anyone make the shop send requests wherever they like.
Loopback is accepted outside production, where the tests' push service listens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.core.errors import NotFound, ValidationFailed
from emporium.notifications.config import PushSettings
from emporium.notifications.push_repository import PushSubscriptionRepository
from emporium.notifications.push_schemas import PushSubscriptionIn, is_loopback

PUSH_NOT_CONFIGURED = "PUSH_NOT_CONFIGURED"
MAX_USER_AGENT = 255


def endpoint_allowed(settings: PushSettings, endpoint: str) -> bool:
    host = (urlsplit(endpoint).hostname or "").lower().rstrip(".")
    if is_loopback(host):
        return settings.env != "production"
    return any(host == known or host.endswith("." + known) for known in settings.push_service_hosts)


class PushSubscriptions:
    def public_key(self, settings: PushSettings) -> str:
        if not settings.push_configured or not settings.vapid_public_key:
            raise NotFound("This shop does not send push notifications.", code=PUSH_NOT_CONFIGURED)
        return settings.vapid_public_key

    async def subscribe(
        self,
        session: AsyncSession,
        settings: PushSettings,
        user_id: int,
        subscription: PushSubscriptionIn,
        user_agent: str | None,
    ) -> int:
        """Keep the browser's subscription for this customer (a known endpoint moves to them with its new
        keys); the subscription's id."""
        self.public_key(settings)
        if not endpoint_allowed(settings, subscription.endpoint):
            raise ValidationFailed(
                details=[{"field": "endpoint", "message": "This is not the address of a known push service."}]
            )
        return await PushSubscriptionRepository(session).save(
            user_id,
            subscription.endpoint,
            subscription.keys.p256dh,
            subscription.keys.auth,
            (user_agent or "")[:MAX_USER_AGENT] or None,
        )

    async def unsubscribe(self, session: AsyncSession, user_id: int, endpoint: str) -> bool:
        """Forget this customer's subscription at ``endpoint``; another customer's is left alone."""
        return await PushSubscriptionRepository(session).delete_endpoint(endpoint, user_id=user_id)


push_subscriptions = PushSubscriptions()
