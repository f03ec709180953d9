"""Who wants to know that a pool's stock changed, told in the transaction that changed it.

Another domain registers a hook through the wiring step (``Wiring.stock_hook``); inventory calls
``stock_changed`` after each change of a pool's count, reservation or threshold, with the pools' ids, so
the hook sees the new figures under the same row locks as the change (the journeys tell an edge, such as
"sold out" to "available", from a level this way). A hook never commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from sqlalchemy.ext.asyncio import AsyncSession

StockHook = Callable[[AsyncSession, Collection[int]], Awaitable[None]]

_hooks: list[StockHook] = []


def register_stock_hook(hook: StockHook) -> None:
    if hook not in _hooks:
        _hooks.append(hook)


async def stock_changed(session: AsyncSession, pool_ids: Collection[int]) -> None:
    if not pool_ids:
        return
    ids = sorted(set(pool_ids))
    for hook in _hooks:
        await hook(session, ids)
