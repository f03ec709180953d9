"""Daily budgets of non-transactional messages per recipient and channel (``at most 3 SMS a day``).

With ``EMPORIUM_REDIS_URL`` the count lives in Redis (one INCR, so every process shares it, like the rate
limits in core/ratelimit.py); without it, in the database (one conditional UPDATE). A message over the
budget is planned as ``suppressed`` with the reason, never sent.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.notifications.preference_repository import PreferenceRepository

DAY_SECONDS = 24 * 3600
# Lua: count one unless the limit is reached; the key expires after the day it counts.
_TAKE = """
local used = redis.call('INCR', KEYS[1])
if used == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
if used > tonumber(ARGV[1]) then redis.call('DECR', KEYS[1]) return 0 end
return 1
"""


async def take(
    session: AsyncSession,
    *,
    redis_url: str | None,
    prefix: str,
    key: str,
    channel: str,
    limit: int,
    now: datetime,
) -> bool:
    """Count one message of ``key`` on ``channel`` against today's (UTC) budget; False when it is spent."""
    day = now.date().isoformat()
    if redis_url is None:
        return await PreferenceRepository(session).take_budget(key, channel, day, limit)
    client: Redis = Redis.from_url(redis_url)
    try:
        taken = await client.eval(_TAKE, 1, f"{prefix}{day}:{channel}:{key}", limit, 2 * DAY_SECONDS)
    finally:
        await client.aclose()
    return bool(int(taken))
