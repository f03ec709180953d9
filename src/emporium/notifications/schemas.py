from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class MailRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    to_address: str
    from_address: str
    subject: str
    text_body: str
    html_body: str
    template: str
    created_at: datetime
