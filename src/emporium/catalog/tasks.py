"""Background work of the catalog: bulk edits of every product of a filter (catalog/bulk.py)."""

from __future__ import annotations

from typing import Any

import structlog

from emporium.catalog.bulk import bulk_editor
from emporium.core.context import AppContext

log = structlog.get_logger(__name__)


async def bulk_edit_job(ctx: AppContext, payload: dict[str, Any]) -> None:
    """Run the edit a batch per transaction, each committed with its progress, until none is left."""
    edit_id = int(payload["edit_id"])
    batches = 0
    while True:
        async with ctx.db.session() as session:
            more = await bulk_editor.run_batch(session, edit_id)
        if not more:
            break
        batches += 1
    log.info("bulk_edit_finished", edit_id=edit_id, batches=batches)
