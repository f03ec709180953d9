"""Every SQL statement of the store's settings and content pages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from emporium.store.models import STORE_ROW_ID, ContentPage, StoreSettings


class StoreRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settings_row(self) -> StoreSettings | None:
        return await self.session.get(StoreSettings, STORE_ROW_ID)

    async def settings_row_for_update(self) -> StoreSettings:
        """The row, created when the shop has none yet; locked until the transaction ends, so two staff
        saving at once write one after the other."""
        found = (
            await self.session.execute(
                select(StoreSettings).where(StoreSettings.id == STORE_ROW_ID).with_for_update()
            )
        ).scalar_one_or_none()
        if found is None:
            found = StoreSettings(id=STORE_ROW_ID)
            self.session.add(found)
            await self.session.flush()
        return found

    async def page(self, slug: str) -> ContentPage | None:
        return await self.session.get(ContentPage, slug)

    async def pages(self) -> list[ContentPage]:
        return list((await self.session.execute(select(ContentPage))).scalars())

    def add_page(self, page: ContentPage) -> None:
        self.session.add(page)

    async def flush(self) -> None:
        await self.session.flush()
