"""A served shop's workers keep what they built at start-up out of the garbage collector's full passes."""

from __future__ import annotations

import gc

from emporium.app import create_app
from tests.conftest import MakeContext


async def test_a_served_app_freezes_its_start_up_heap_and_an_in_process_one_does_not(
    make_context: MakeContext,
) -> None:
    assert gc.get_freeze_count() == 0
    app = create_app(ctx=make_context())
    async with app.router.lifespan_context(app):
        assert gc.get_freeze_count() == 0
    served = create_app(ctx=make_context(), freeze_heap=True)
    try:
        async with served.router.lifespan_context(served):
            # The routes and their models at least: the whole heap of the process, in practice.
            assert gc.get_freeze_count() > len(served.routes) * 100
    finally:
        gc.unfreeze()
