"""In and out models of the product image routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from emporium.catalog.media.service import image_urls
from emporium.catalog.models import ProductImage
from emporium.core.config import Settings
from emporium.core.params import MAX_ID

ALT_TEXT_MAX = 300
MAX_POSITION = 1_000_000


def _printable(value: str) -> str:
    # NUL cannot be stored in PostgreSQL text and no control character belongs in alt text.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("Control characters are not allowed.")
    return value


AltText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=ALT_TEXT_MAX), AfterValidator(_printable)
]
Position = Annotated[int, Field(ge=0, le=MAX_POSITION)]
ImageId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ImageUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alt_text: AltText | None = None
    position: Position | None = None
    variant_id: ImageId | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> ImageUpdate:
        if not self.model_fields_set:
            raise ValueError("Send at least one of alt_text, position, variant_id.")
        if "alt_text" in self.model_fields_set and self.alt_text is None:
            raise ValueError("alt_text cannot be null; send an empty string to clear it.")
        if "position" in self.model_fields_set and self.position is None:
            raise ValueError("position cannot be null.")
        return self

    def changes(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class ImageOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    image_ids: Annotated[list[ImageId], Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _unique(self) -> ImageOrder:
        if len(set(self.image_ids)) != len(self.image_ids):
            raise ValueError("An image id appears more than once.")
        return self


class ImageRead(BaseModel):
    id: int
    product_id: int
    variant_id: int | None
    alt_text: str
    position: int
    width: int
    height: int
    urls: dict[str, str]
    created_at: datetime

    @classmethod
    def of(cls, image: ProductImage, settings: Settings) -> ImageRead:
        return cls(
            id=image.id,
            product_id=image.product_id,
            variant_id=image.variant_id,
            alt_text=image.alt_text,
            position=image.position,
            width=image.width,
            height=image.height,
            urls=image_urls(settings, image.files),
            created_at=image.created_at,
        )
