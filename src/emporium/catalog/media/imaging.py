"""Turning an uploaded picture into clean WebP renditions with Pillow.

The type is decided by Pillow reading the bytes (JPEG, PNG, WebP or GIF only), never by the file name or
the client's content type. Metadata (EXIF with GPS, XMP, ICC, comments) does not survive: each rendition
is re-encoded from pixels alone, after the EXIF orientation has been applied to them.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from emporium.catalog.media.errors import MediaError

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
# Longest side of each rendition, in pixels; smaller originals are never enlarged.
SIZES: dict[str, int] = {"thumb": 200, "medium": 600, "large": 1200}
# A decoded 40-megapixel RGBA image is 160 MB of memory: enough for any product photo.
MAX_PIXELS = 40_000_000
WEBP_QUALITY = 82
CONTENT_TYPE = "image/webp"


class ImageRejected(Exception):
    """The upload is not an image we accept; ``code`` is the API error code."""

    def __init__(self, code: MediaError, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Rendition:
    size: str
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class ProcessedImage:
    content_hash: str  # sha256 of the uploaded bytes, hex
    source_format: str  # what Pillow found: "JPEG", "PNG", "WEBP" or "GIF"
    renditions: dict[str, Rendition]

    @property
    def largest(self) -> Rendition:
        return max(self.renditions.values(), key=lambda r: r.width * r.height)

    def key(self, product_id: int, size: str) -> str:
        return f"products/{product_id}/{self.content_hash[:16]}-{size}.webp"


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        # Pillow refuses past twice its MAX_IMAGE_PIXELS by itself; our own, lower limit follows.
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageRejected(MediaError.IMAGE_TOO_LARGE, "The image has too many pixels.") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageRejected(
            MediaError.UNSUPPORTED_IMAGE, "The file is not a JPEG, PNG, WebP or GIF image."
        ) from exc
    # Checked on the header, before a single pixel is decoded.
    width, height = image.size
    if width < 1 or height < 1 or width * height > max_pixels:
        raise ImageRejected(
            MediaError.IMAGE_TOO_LARGE,
            f"The image has too many pixels (at most {max_pixels:,} are accepted).",
        )
    return image


def _clean_pixels(image: Image.Image) -> Image.Image:
    """The first frame, upright, in RGB or RGBA, with no metadata attached."""
    image.seek(0)  # GIF and animated WebP: the first frame only
    image.load()
    upright = ImageOps.exif_transpose(image) or image
    if upright.mode.startswith("I"):
        # 16- and 32-bit greyscale: scale to 8 bits, or every light grey would clip to white.
        upright = upright.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = upright.mode in {"RGBA", "LA", "PA", "RGBa", "La"} or (
        upright.mode in {"P", "L", "RGB"} and "transparency" in upright.info
    )
    converted = upright.convert("RGBA" if has_alpha else "RGB")
    # A fresh image from the pixels alone: no EXIF, XMP, ICC profile or comment can ride along.
    clean = Image.new(converted.mode, converted.size)
    clean.paste(converted)
    return clean


def _encode(image: Image.Image, size: str, longest: int) -> Rendition:
    copy = image.copy()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)  # shrinks only, keeps the aspect
    copy.info.clear()
    out = io.BytesIO()
    copy.save(out, format="WEBP", quality=WEBP_QUALITY, method=4, exif=b"", icc_profile=None)
    return Rendition(size=size, data=out.getvalue(), width=copy.width, height=copy.height)


def process_image(data: bytes, max_pixels: int = MAX_PIXELS) -> ProcessedImage:
    """Sniff, check and re-encode ``data``; raises :class:`ImageRejected`. CPU-bound: run it in a thread."""
    if not data:
        raise ImageRejected(MediaError.EMPTY_FILE, "The file is empty.")
    image = _open(data, max_pixels)
    source_format = str(image.format)
    try:
        with image:
            clean = _clean_pixels(image)
    except ImageRejected:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        # Truncated or corrupt pixel data behind a valid header.
        raise ImageRejected(MediaError.UNSUPPORTED_IMAGE, "The image data is damaged or truncated.") from exc
    renditions = {size: _encode(clean, size, longest) for size, longest in SIZES.items()}
    return ProcessedImage(
        content_hash=hashlib.sha256(data).hexdigest(),
        source_format=source_format,
        renditions=renditions,
    )
