"""``/admin/audit``: every staff change, newest first, filtered by who, what and when; exported as CSV."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from emporium.admin.page import AdminContext, AdminWith
from emporium.admin.params import CursorParam, OptionalDate, OptionalEmail, OptionalText, parse_day
from emporium.admin.routing import admin_router
from emporium.analytics.periods import local_midnight, shop_zone
from emporium.audit.schemas import AuditFilters, AuditRecord
from emporium.audit.service import audit
from emporium.core.permissions import Permission

router = admin_router(prefix="/admin/audit")

AuditPage = Annotated[AdminContext, AdminWith(Permission.AUDIT_READ)]
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
CSV_HEADER = ["id", "at", "staff", "address", "action", "object_type", "object_id", "object", "changes"]


@router.get("", response_class=HTMLResponse, response_model=None)
async def audit_log(
    page: AuditPage,
    staff: OptionalEmail = "",
    action: OptionalText = "",
    object_type: OptionalText = "",
    object_id: OptionalText = "",
    from_: Annotated[OptionalDate, Query(alias="from")] = "",
    to: OptionalDate = "",
    after: CursorParam = "",
    format: Annotated[Literal["html", "csv"], Query()] = "html",
) -> Response:
    date_from, date_to = parse_day(from_, "from"), parse_day(to, "to")
    zone = shop_zone(page.settings)
    until = local_midnight(zone, date_to + timedelta(days=1)) if date_to else None
    filters = AuditFilters(
        actor_email=staff.strip() or None,
        action=action.strip() or None,
        object_type=object_type.strip() or None,
        object_id=object_id.strip() or None,
        created_from=local_midnight(zone, date_from) if date_from else None,
        created_until=until,
    )
    if format == "csv":
        found = await audit.page(page.session, filters, None, EXPORT_LIMIT)
        return page.csv("audit-log.csv", CSV_HEADER, [_csv_row(row) for row in found.rows])
    found = await audit.page(page.session, filters, after or None, PAGE_SIZE)
    params = {
        "staff": staff,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "from": date_from.isoformat() if date_from else "",
        "to": date_to.isoformat() if date_to else "",
    }
    return await page.render(
        "admin/audit/list.html.j2",
        title="Audit log",
        breadcrumbs=[("Audit log", None)],
        entries=found.rows,
        next_cursor=found.next_cursor,
        params=params,
        filtered=any(params.values()),
        zone=zone,
    )


def _csv_row(row: AuditRecord) -> list[object]:
    changes = "; ".join(f"{name}: {old} → {new}" for name, (old, new) in row.changes.items())
    return [
        row.id,
        row.created_at.isoformat(),
        row.actor_email,
        row.ip_address,
        row.action,
        row.object_type,
        row.object_id,
        row.object_label,
        changes,
    ]
