"""Every SQL statement of the back office's kept uploads (catalog/csv/uploads.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.csv.models import CatalogImport, ImportStatus
from emporium.core.jobs.models import Job


class UploadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, upload: CatalogImport) -> CatalogImport:
        self.session.add(upload)
        await self.session.flush()
        return upload

    async def of_staff(self, token: str, staff_user_id: int, *, lock: bool = False) -> CatalogImport | None:
        query = select(CatalogImport).where(
            CatalogImport.token == token, CatalogImport.staff_user_id == staff_user_id
        )
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).scalar_one_or_none()

    async def by_id(self, import_id: int) -> CatalogImport | None:
        return await self.session.get(CatalogImport, import_id)

    async def job_status(self, job_id: int) -> str | None:
        return (await self.session.execute(select(Job.status).where(Job.id == job_id))).scalar_one_or_none()

    async def delete_expired(self, now: datetime) -> int:
        """Uploads past their expiry that no import is working on."""
        result = await self.session.execute(
            delete(CatalogImport)
            .where(
                CatalogImport.expires_at < now,
                CatalogImport.status.not_in((ImportStatus.QUEUED, ImportStatus.RUNNING)),
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
