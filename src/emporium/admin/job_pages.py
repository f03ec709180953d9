"""``/admin/jobs``: the background jobs that may need someone, newest first: pending (with the error of
their last attempt, if any), running, and dead (out of attempts). A dead job can be retried (queued again
with its attempts reset) or discarded.

Reading needs ``system:read`` (admins); retrying and discarding need ``settings:manage`` (super admins),
as the home page's failed-jobs task does: a retry may send a customer a mail or charge a gateway again.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import CursorParam
from emporium.admin.routing import admin_router
from emporium.analytics.periods import shop_zone
from emporium.core.errors import EmporiumError
from emporium.core.params import IdPath
from emporium.core.permissions import Permission
from emporium.operations.jobs import jobs_admin

router = admin_router(prefix="/admin/jobs")

JobsRead = Annotated[AdminContext, AdminWith(Permission.SYSTEM_READ)]
PAGE_SIZE = 50
StateParam = Literal["", "pending", "running", "dead", "done"]
KIND_PATTERN = r"^[a-z0-9_.]*$"
KindParam = Annotated[str, Query(max_length=100, pattern=KIND_PATTERN)]
STATE_LABELS = {"": "Open", "pending": "Pending", "running": "Running", "dead": "Dead", "done": "Done"}


async def render_jobs(
    page: AdminContext,
    state: str,
    kind: str,
    after: str,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    found = await jobs_admin.page(page.session, state or None, kind or None, after or None, PAGE_SIZE)
    params = {"state": state, "kind": kind}
    return await page.render(
        "admin/operations/jobs.html.j2",
        title="Jobs",
        breadcrumbs=[("Jobs", None)],
        status_code=status_code,
        jobs=found.rows,
        next_cursor=found.next_cursor,
        params=params,
        counts=await jobs_admin.counts(page.session),
        kinds=jobs_admin.kinds(),
        states=STATE_LABELS,
        zone=shop_zone(page.settings),
        error=error,
    )


@router.get("", response_class=HTMLResponse, response_model=None)
async def job_list(
    page: JobsRead,
    state: Annotated[StateParam, Query()] = "",
    kind: KindParam = "",
    after: CursorParam = "",
) -> Response:
    return await render_jobs(page, state, kind, after)


@router.post("/{job_id}/retry", response_model=None)
async def retry(page: JobsRead, job_id: IdPath) -> Response:
    page.require(Permission.SETTINGS_MANAGE)
    try:
        async with page.session.begin_nested():
            job = await jobs_admin.retry(page.session, page.actor, job_id)
    except EmporiumError as exc:
        if exc.status_code not in (404, 409):
            raise
        return await render_jobs(page, "dead", "", "", error=exc.message, status_code=exc.status_code)
    return page.redirect(
        "/admin/jobs?state=pending",
        flash=f"Job {job.id} ({job.kind}) is queued again with its attempts reset; it runs in a moment.",
    )


@router.post("/{job_id}/discard", response_model=None)
async def discard(page: JobsRead, job_id: IdPath) -> Response:
    page.require(Permission.SETTINGS_MANAGE)
    try:
        async with page.session.begin_nested():
            job = await jobs_admin.discard(page.session, page.actor, job_id)
    except EmporiumError as exc:
        if exc.status_code not in (404, 409):
            raise
        return await render_jobs(page, "dead", "", "", error=exc.message, status_code=exc.status_code)
    return page.redirect("/admin/jobs?state=dead", flash=f"Job {job.id} ({job.kind}) is discarded.")
