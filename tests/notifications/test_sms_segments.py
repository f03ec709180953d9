"""SMS segments: GSM-7 (160 alone, 153 per part, the extension table counting double and never split) and
UCS-2 (70 alone, 67 per part, surrogate pairs never split); and every SMS template fits two segments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import ChainableUndefined, Environment, FileSystemLoader

import emporium
from emporium.notifications.sms_segments import (
    GSM7,
    GSM7_BASIC,
    GSM7_EXTENSION,
    UCS2,
    Segments,
    count_segments,
    is_gsm7,
)

TEMPLATES = Path(emporium.__file__).parent / "templates" / "notifications"


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("", GSM7, 0, 0),
        ("a" * 160, GSM7, 160, 1),
        ("a" * 161, GSM7, 161, 2),
        ("a" * 306, GSM7, 306, 2),
        ("a" * 307, GSM7, 307, 3),
        ("€" * 80, GSM7, 160, 1),
        ("€" * 81, GSM7, 162, 2),
        # 152 septets, then an escape pair: it does not fit the first part's last septet.
        ("a" * 152 + "{" + "a" * 152, GSM7, 306, 3),
        ("a" * 151 + "{" + "a" * 153, GSM7, 306, 2),
        ("Ä Ö Ñ Ü § ¿ ñ ä ö ü à é ù è ì ò Ç Ø ø Å å Δ Φ ß É ¡", GSM7, 51, 1),
        ("ç" * 70, UCS2, 70, 1),  # lower-case ç is not GSM-7 (only Ç is)
        ("ç" * 71, UCS2, 71, 2),
        ("₹" * 134, UCS2, 134, 2),
        ("₹" * 135, UCS2, 135, 3),
        ("😀" * 35, UCS2, 70, 1),
        # 66 units, then a surrogate pair that would straddle the part: it moves to the next.
        ("ç" * 66 + "😀" + "ç" * 66, UCS2, 134, 3),
        ("नमस्ते, आपका ऑर्डर भेज दिया गया है", UCS2, 34, 1),
    ],
)
def test_segments(text: str, encoding: str, units: int, count: int) -> None:
    assert count_segments(text) == Segments(encoding, units, count)


def test_the_gsm7_tables() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes less the escape
    assert len(GSM7_EXTENSION) == 10
    assert is_gsm7("Order ORD-2026-000123: 2 \u00d7 250g") is False
    assert is_gsm7("Order ORD-2026-000123: 2 x 250g [paid] ~ {ok} €5") is True


@given(st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), max_size=700))
def test_gsm7_parts_never_hold_more_than_their_room(text: str) -> None:
    result = count_segments(text)
    assert result.encoding == GSM7
    assert result.units == len(text) + sum(char in GSM7_EXTENSION for char in text)
    if result.units <= 160:
        assert result.count == (1 if text else 0)
    else:
        # At least enough parts for the septets, at most one more per escape pair that could straddle.
        assert -(-result.units // 153) <= result.count <= -(-result.units // 152)


@given(st.text(min_size=1, max_size=400).filter(lambda t: not is_gsm7(t)))
def test_ucs2_counts_utf16_units(text: str) -> None:
    result = count_segments(text)
    assert result.encoding == UCS2
    assert result.units == len(text.encode("utf-16-le")) // 2
    if result.units > 70:
        assert -(-result.units // 67) <= result.count <= -(-result.units // 66)


class _Sample(ChainableUndefined):
    """Any fact a template names that the sample context lacks renders as a plausible value."""

    def __str__(self) -> str:
        return "Sample value"


SAMPLE_CONTEXT: dict[str, Any] = {
    "shop_name": "Emporium Sweets",
    "first_name": "Priyanka",
    "name": "Priyanka Raghunathan",
    "number": "ORD-2026-000123",
    "total": "₹1,249.00",
    "amount": "₹1,249.00",
    "carrier": "Blue Dart",
    "tracking_number": "BD123456789IN",
    "track_url": "https://shop.example/orders/ORD-2026-000123/track",
    "link": "https://shop.example/orders/ORD-2026-000123",
    "url": "https://shop.example/orders/ORD-2026-000123",
    "product": "Kaju Katli 500 g",
    "reminder": 1,
}


def _sms_templates(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return [path for path in sorted(directory.rglob("*.j2")) if "{% block sms" in path.read_text()]


def over_two_segments(directory: Path, templates: list[Path]) -> dict[str, Segments]:
    """The templates whose ``sms`` block, rendered with the sample context, needs more than two segments."""
    env = Environment(loader=FileSystemLoader(directory), undefined=_Sample, autoescape=False)  # noqa: S701
    too_long = {}
    for path in templates:
        template = env.get_template(path.relative_to(directory).as_posix())
        text = "".join(template.blocks["sms"](template.new_context(SAMPLE_CONTEXT))).strip()
        assert text, f"{path.name} renders an empty SMS"
        result = count_segments(text)
        if result.count > 2:
            too_long[path.name] = result
    return too_long


def test_every_sms_template_fits_two_segments() -> None:
    templates = _sms_templates(TEMPLATES)
    if not templates:
        pytest.skip("no notification template has an sms block yet")
    assert over_two_segments(TEMPLATES, templates) == {}


def test_the_template_check_reports_a_long_sms(tmp_path: Path) -> None:
    (tmp_path / "order_shipped.j2").write_text(
        "{% block title %}Shipped{% endblock %}"
        "{% block sms %}{{ shop_name }}: order {{ number }} shipped by {{ carrier }}: {{ track_url }}"
        "{% endblock %}"
    )
    (tmp_path / "order_rambling.j2").write_text(
        "{% block sms %}{{ first_name }}, {% for _ in range(40) %}news about {{ order.number }} {% endfor %}"
        "{% endblock %}"
    )
    (tmp_path / "no_sms.j2").write_text("{% block title %}Hello{% endblock %}")
    templates = _sms_templates(tmp_path)
    assert [path.name for path in templates] == ["order_rambling.j2", "order_shipped.j2"]
    assert list(over_two_segments(tmp_path, templates)) == ["order_rambling.j2"]
