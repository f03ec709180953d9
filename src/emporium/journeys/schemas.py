"""In and out models of the journeys' API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class StockAlertRead(BaseModel):
    id: int
    variant_id: int
    # False until a guest's e-mail is confirmed; a customer's alert is active at once.
    active: bool
    created_at: datetime
