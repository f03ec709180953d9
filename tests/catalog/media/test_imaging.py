"""Pillow processing: sniffing, metadata stripping, orientation, sizes and the pixel-count guard."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from emporium.catalog.media.imaging import MAX_PIXELS, SIZES, ImageRejected, process_image
from tests.catalog.media.images import (
    animated_gif,
    decode,
    jpeg_with_exif,
    plain,
    png_claiming,
    png_with_alpha,
)


def test_jpeg_is_turned_upright_and_loses_its_exif() -> None:
    original = jpeg_with_exif(400, 200, orientation=6)
    assert decode(original).getexif()[0x0112] == 6  # the test picture really carries EXIF
    assert b"SecretCam" in original

    result = process_image(original)

    assert result.source_format == "JPEG"
    assert result.content_hash == hashlib.sha256(original).hexdigest()
    large = decode(result.renditions["large"].data)
    assert large.format == "WEBP"
    # Orientation 6 means "rotate 90 degrees clockwise to view": 400x200 becomes 200x400.
    assert large.size == (200, 400)
    # Red was on the left; after a clockwise quarter turn it is on top.
    top = large.getpixel((100, 50))
    bottom = large.getpixel((100, 350))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 150
    assert top[2] < 100
    assert bottom[2] > 150
    assert bottom[0] < 100
    for rendition in result.renditions.values():
        out = decode(rendition.data)
        assert len(out.getexif()) == 0
        assert "exif" not in out.info
        assert "icc_profile" not in out.info
        assert "xmp" not in out.info
        assert b"SecretCam" not in rendition.data
        assert b"Exif" not in rendition.data
        assert b"shot at home" not in rendition.data


def test_png_keeps_its_transparency() -> None:
    result = process_image(png_with_alpha(300, 300))
    medium = decode(result.renditions["medium"].data)
    assert medium.mode == "RGBA"
    alpha = medium.getchannel("A")
    assert alpha.getpixel((10, 10)) == 255
    assert alpha.getpixel((290, 10)) == 0


def test_three_sizes_on_the_longest_side_never_enlarged() -> None:
    result = process_image(plain("PNG", 3000, 1500))
    dims = {size: (r.width, r.height) for size, r in result.renditions.items()}
    assert dims == {"thumb": (200, 100), "medium": (600, 300), "large": (1200, 600)}
    for size, rendition in result.renditions.items():
        assert decode(rendition.data).size == dims[size]

    small = process_image(plain("JPEG", 300, 450))
    dims = {size: (r.width, r.height) for size, r in small.renditions.items()}
    assert dims == {"thumb": (133, 200), "medium": (300, 450), "large": (300, 450)}
    assert set(SIZES) == set(dims)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    out = io.BytesIO()
    Image.new("I;16", (40, 40), 30_000).save(out, format="PNG")
    thumb = decode(process_image(out.getvalue()).renditions["thumb"].data)
    pixel = thumb.getpixel((5, 5))
    assert isinstance(pixel, tuple)
    assert 110 <= pixel[0] <= 125  # 30000 / 256 = 117, not 255


def test_configured_pixel_limit_is_below_pillows_own() -> None:
    assert MAX_PIXELS < Image.MAX_IMAGE_PIXELS


def test_webp_and_gif_are_accepted_and_a_gif_gives_its_first_frame() -> None:
    assert process_image(plain("WEBP", 50, 40)).source_format == "WEBP"
    result = process_image(animated_gif())
    assert result.source_format == "GIF"
    thumb = decode(result.renditions["thumb"].data)
    assert thumb.size == (64, 32)
    assert getattr(thumb, "n_frames", 1) == 1


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"", "EMPTY_FILE"),
        (b"hello, I am a text file pretending to be a photo\n", "UNSUPPORTED_IMAGE"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "UNSUPPORTED_IMAGE"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "UNSUPPORTED_IMAGE"),
        (b"\x00" * 4096, "UNSUPPORTED_IMAGE"),
    ],
)
def test_what_is_not_an_accepted_image_is_refused(payload: bytes, code: str) -> None:
    with pytest.raises(ImageRejected) as caught:
        process_image(payload)
    assert caught.value.code == code


def test_formats_pillow_knows_but_we_do_not_accept_are_refused() -> None:
    for fmt in ("BMP", "TIFF", "PPM"):
        with pytest.raises(ImageRejected) as caught:
            process_image(plain(fmt, 20, 20))
        assert caught.value.code == "UNSUPPORTED_IMAGE"


def test_truncated_image_is_refused() -> None:
    whole = plain("PNG", 500, 500, colour=(1, 2, 3))
    with pytest.raises(ImageRejected) as caught:
        process_image(whole[: len(whole) // 2])
    assert caught.value.code == "UNSUPPORTED_IMAGE"


def test_a_header_claiming_too_many_pixels_is_refused_before_decoding() -> None:
    bomb = png_claiming(50_000, 50_000)  # 2.5 billion pixels in ~70 bytes
    assert len(bomb) < 200
    with pytest.raises(ImageRejected) as caught:
        process_image(bomb)
    assert caught.value.code == "IMAGE_TOO_LARGE"
    with pytest.raises(ImageRejected) as caught:
        process_image(plain("PNG", 100, 100), max_pixels=99 * 100)
    assert caught.value.code == "IMAGE_TOO_LARGE"
