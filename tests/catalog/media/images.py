"""Real pictures made with Pillow for the media tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

# EXIF tag numbers.
ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825
GPS_LATITUDE_REF = 1
GPS_LATITUDE = 2


def jpeg_with_exif(width: int = 400, height: int = 200, orientation: int = 6) -> bytes:
    """A JPEG stored ``width`` x ``height`` whose EXIF asks for a rotation and carries a GPS position.

    The left half is red and the right half blue, so a test can see which way it was turned.
    """
    image = Image.new("RGB", (width, height), (220, 20, 20))
    image.paste((20, 20, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "SecretCam"
    exif.get_ifd(GPS_IFD).update({GPS_LATITUDE_REF: "N", GPS_LATITUDE: (51.0, 30.0, 12.5)})
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95, comment=b"shot at home")
    return out.getvalue()


def png_with_alpha(width: int = 300, height: int = 300) -> bytes:
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste((0, 200, 0, 255), (0, 0, width // 2, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def plain(fmt: str, width: int, height: int, colour: tuple[int, int, int] = (120, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format=fmt)
    return out.getvalue()


def animated_gif() -> bytes:
    frames = [Image.new("P", (64, 32), i) for i in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels: a decompression bomb's calling card."""
    raw = plain("PNG", 1, 1)
    assert raw[12:16] == b"IHDR"
    ihdr = b"IHDR" + struct.pack(">II", width, height) + raw[24:29]
    crc = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)
    return raw[:8] + struct.pack(">I", 13) + ihdr + crc + raw[33:]


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
