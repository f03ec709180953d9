"""Request counting with the ``limits`` library: in memory by default, in Redis when configured."""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from emporium.core.errors import RateLimited


def _storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    return RedisStorage("async+" + redis_url, implementation="redispy", key_prefix="emporium-limits")


class RateLimiter:
    def __init__(self, redis_url: str | None) -> None:
        self._storage = _storage(redis_url)
        self._limiter = MovingWindowRateLimiter(self._storage)

    @staticmethod
    def parse(limit: str) -> RateLimitItem:
        return parse(limit)

    async def hit(self, limit: RateLimitItem, *key: str) -> bool:
        """Count one event; False when the limit was already reached (the event is not counted)."""
        return await self._limiter.hit(limit, *key)

    async def allows(self, limit: RateLimitItem, *key: str) -> bool:
        return await self._limiter.test(limit, *key)

    async def clear(self, limit: RateLimitItem, *key: str) -> None:
        await self._limiter.clear(limit, *key)

    async def retry_after(self, limit: RateLimitItem, *key: str) -> int:
        stats = await self._limiter.get_window_stats(limit, *key)
        return max(1, int(stats.reset_time - time.time()) + 1)

    async def enforce(self, limit: RateLimitItem, *key: str) -> None:
        """Count one request, or refuse it with 429 and ``Retry-After``."""
        if not await self.hit(limit, *key):
            raise RateLimited(await self.retry_after(limit, *key))

    async def reset(self) -> None:
        await self._storage.reset()
