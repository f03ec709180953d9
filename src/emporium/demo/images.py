"""Pictures for the demo shop, drawn with Pillow: nothing is downloaded and no font file is needed.

Each picture is a soft gradient in a colour of the product's own (the department sets the hue, the name
moves it a little), a simple shape for the department (a shirt, a book, a box of sweets, ...) and the
product's name. The result is PNG bytes that go through the same pipeline as an upload
(:func:`emporium.catalog.media.imaging.process_image`). Drawing is deterministic: the same product always gets
the same pictures, hence the same content-addressed file names.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

from emporium.catalog.media.imaging import ProcessedImage, process_image

SIDE = 800
# Base hue per department (0-1 around the colour wheel); unknown departments get one from their name.
DEPARTMENT_HUES = {
    "Apparel": 0.58,
    "Electronics": 0.66,
    "Books": 0.08,
    "Home & Kitchen": 0.33,
    "Sweet Shop": 0.95,
    "Beauty": 0.83,
    "Sports & Outdoors": 0.42,
    "Toys & Games": 0.14,
}

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("|".join(parts).encode()).digest()[:8], "big")


def _colour(hue: float, lightness: float, saturation: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return round(r * 255), round(g * 255), round(b * 255)


def palette(department: str, name: str) -> tuple[RGB, RGB, RGB]:
    """Light and mid background colours and a darker ink colour for the product."""
    base = DEPARTMENT_HUES.get(department, (_seed(department) % 1000) / 1000)
    hue = base + ((_seed(name) % 1000) / 1000 - 0.5) * 0.12
    return _colour(hue, 0.9, 0.55), _colour(hue + 0.04, 0.7, 0.5), _colour(hue, 0.3, 0.55)


def _shirt(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    points = [
        (x0 + w * 0.32, y0),
        (x0 + w * 0.42, y0 + h * 0.06),
        (x0 + w * 0.58, y0 + h * 0.06),
        (x0 + w * 0.68, y0),
        (x1, y0 + h * 0.18),
        (x0 + w * 0.86, y0 + h * 0.38),
        (x0 + w * 0.76, y0 + h * 0.32),
        (x0 + w * 0.76, y1),
        (x0 + w * 0.24, y1),
        (x0 + w * 0.24, y0 + h * 0.32),
        (x0 + w * 0.14, y0 + h * 0.38),
        (x0, y0 + h * 0.18),
    ]
    draw.polygon(points, fill=ink)
    draw.arc((x0 + w * 0.4, y0 - h * 0.06, x0 + w * 0.6, y0 + h * 0.1), 0, 180, fill=paper, width=6)


def _device(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rounded_rectangle((x0 + w * 0.15, y0, x1 - w * 0.15, y1), radius=int(w * 0.1), fill=ink)
    cx, cy, r = (x0 + x1) / 2, y0 + h * 0.62, w * 0.2
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=paper)
    draw.ellipse((cx - r / 2.5, cy - r / 2.5, cx + r / 2.5, cy + r / 2.5), fill=ink)
    draw.ellipse((cx - r / 3, y0 + h * 0.14, cx + r / 3, y0 + h * 0.14 + r * 2 / 3), fill=paper)


def _book(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    draw.rectangle((x0 + w * 0.2, y0, x1 - w * 0.15, y1), fill=ink)
    draw.rectangle((x0 + w * 0.2, y0, x0 + w * 0.3, y1), fill=paper)
    for offset in (0.15, 0.8):
        y = y0 + (y1 - y0) * offset
        draw.line((x0 + w * 0.38, y, x1 - w * 0.23, y), fill=paper, width=8)


def _pot(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rounded_rectangle((x0 + w * 0.15, y0 + h * 0.3, x1 - w * 0.15, y1), radius=int(w * 0.12), fill=ink)
    draw.rectangle((x0 + w * 0.1, y0 + h * 0.25, x1 - w * 0.1, y0 + h * 0.34), fill=ink)
    draw.rectangle((x0, y0 + h * 0.4, x0 + w * 0.15, y0 + h * 0.48), fill=ink)
    draw.rectangle((x1 - w * 0.15, y0 + h * 0.4, x1, y0 + h * 0.48), fill=ink)
    draw.ellipse((x0 + w * 0.44, y0 + h * 0.12, x0 + w * 0.56, y0 + h * 0.24), fill=ink)
    draw.line((x0 + w * 0.25, y0 + h * 0.55, x1 - w * 0.25, y0 + h * 0.55), fill=paper, width=6)


def _sweets(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    r = w * 0.17
    for cx, cy in ((0.3, 0.68), (0.7, 0.68), (0.5, 0.36)):
        x, y = x0 + w * cx, y0 + h * cy
        draw.ellipse((x - r, y - r, x + r, y + r), fill=ink, outline=paper, width=6)
        draw.ellipse((x - r * 0.45, y - r * 0.6, x - r * 0.05, y - r * 0.25), fill=paper)


def _bottle(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle((x0 + w * 0.4, y0, x1 - w * 0.4, y0 + h * 0.18), fill=ink)
    draw.rounded_rectangle((x0 + w * 0.25, y0 + h * 0.22, x1 - w * 0.25, y1), radius=int(w * 0.08), fill=ink)
    draw.rectangle((x0 + w * 0.32, y0 + h * 0.5, x1 - w * 0.32, y0 + h * 0.75), fill=paper)


def _mountain(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.polygon([(x0, y1), (x0 + w * 0.38, y0 + h * 0.15), (x0 + w * 0.7, y1)], fill=ink)
    draw.polygon([(x0 + w * 0.4, y1), (x0 + w * 0.7, y0 + h * 0.4), (x1, y1)], fill=ink)
    draw.polygon(
        [(x0 + w * 0.38, y0 + h * 0.15), (x0 + w * 0.3, y0 + h * 0.3), (x0 + w * 0.46, y0 + h * 0.3)],
        fill=paper,
    )
    draw.ellipse((x1 - w * 0.22, y0, x1 - w * 0.02, y0 + h * 0.2), fill=ink)


def _die(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w = x1 - x0
    draw.rounded_rectangle(
        (x0 + w * 0.1, y0 + w * 0.1, x1 - w * 0.1, y1 - w * 0.1), radius=int(w * 0.12), fill=ink
    )
    r = w * 0.06
    for cx, cy in ((0.3, 0.3), (0.7, 0.3), (0.5, 0.5), (0.3, 0.7), (0.7, 0.7)):
        x, y = x0 + w * cx, y0 + w * cy
        draw.ellipse((x - r, y - r, x + r, y + r), fill=paper)


def _gift(draw: ImageDraw.ImageDraw, box: Box, ink: RGB, paper: RGB) -> None:
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    draw.rectangle((x0 + w * 0.1, y0 + h * 0.3, x1 - w * 0.1, y1), fill=ink)
    draw.rectangle((x0 + w * 0.45, y0 + h * 0.3, x1 - w * 0.45, y1), fill=paper)
    draw.rectangle((x0 + w * 0.1, y0 + h * 0.5, x1 - w * 0.1, y0 + h * 0.58), fill=paper)


Shape = Callable[[ImageDraw.ImageDraw, Box, RGB, RGB], None]
SHAPES: dict[str, Shape] = {
    "Apparel": _shirt,
    "Electronics": _device,
    "Books": _book,
    "Home & Kitchen": _pot,
    "Sweet Shop": _sweets,
    "Beauty": _bottle,
    "Sports & Outdoors": _mountain,
    "Toys & Games": _die,
}


def initials(name: str) -> str:
    words = [word for word in name.replace("-", " ").split() if word[:1].isalnum()]
    return "".join(word[0].upper() for word in words[:3]) or "?"


def _background(light: RGB, mid: RGB, view: int) -> Image.Image:
    if view == 0:
        gradient = Image.linear_gradient("L").rotate(45, resample=Image.Resampling.BILINEAR, expand=False)
        # Rotation leaves black corners: crop to the middle, where the gradient is whole.
        gradient = gradient.crop((48, 48, 208, 208))
    else:
        gradient = Image.radial_gradient("L")
    return ImageOps.colorize(gradient.resize((SIDE, SIDE), Image.Resampling.BILINEAR), light, mid)


def draw_picture(department: str, name: str, caption: str, view: int = 0) -> bytes:
    """A product picture as PNG bytes; ``view`` 0 is the front picture, 1 a second, closer one."""
    light, mid, ink = palette(department, name)
    image = _background(light, mid, view)
    draw = ImageDraw.Draw(image)
    shape = SHAPES.get(department, _gift)
    if view == 0:
        shape(draw, (220, 110, 580, 470), ink, light)
        title = ImageFont.load_default(size=44)
        lines = textwrap.wrap(name, width=26)[:2]
        for row, line in enumerate(lines):
            draw.text((SIDE / 2, 560 + row * 58), line, font=title, fill=ink, anchor="mm")
        small = ImageFont.load_default(size=28)
        draw.text((SIDE / 2, 720), caption, font=small, fill=ink, anchor="mm")
    else:
        shape(draw, (120, 120, 680, 680), ink, light)
        draw.ellipse((540, 540, 780, 780), fill=light, outline=ink, width=8)
        draw.text((660, 660), initials(name), font=ImageFont.load_default(size=72), fill=ink, anchor="mm")
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def picture_count(name: str) -> int:
    """One or two pictures: a close-up for about a third of the products, decided by the name."""
    return 2 if _seed("views", name) % 3 == 0 else 1


@dataclass(frozen=True)
class DemoPicture:
    product_id: int
    alt_text: str
    processed: ProcessedImage


def render_pictures(product_id: int, department: str, name: str, caption: str) -> list[DemoPicture]:
    """Draw the product's pictures and run them through the upload pipeline. CPU-bound, and light to
    import, so that worker processes can run it."""
    return [
        DemoPicture(
            product_id=product_id,
            alt_text=name if view == 0 else f"{name}, close-up",
            processed=process_image(draw_picture(department, name, caption, view)),
        )
        for view in range(picture_count(name))
    ]
