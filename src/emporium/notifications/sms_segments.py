"""How many SMS segments a text costs. A segment carries 140 bytes: 160 GSM-7 characters, or 70 UCS-2 code
units when any character is outside GSM-7. A longer text is split, and each part gives up room for the
concatenation header: 153 and 67. GSM-7's extension characters (``{ } [ ] ~ \\ | ^ €`` and form feed) take
two septets (an escape and the character), and neither they nor a UTF-16 surrogate pair are split across
segments, so a part may hold one unit less than its room: what carriers and Twilio bill."""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7, UCS2 = "GSM-7", "UCS-2"
# Units per segment: (alone, in a concatenated message).
_ROOM = {GSM7: (160, 153), UCS2: (70, 67)}


@dataclass(frozen=True)
class Segments:
    encoding: str
    # Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole text.
    units: int
    count: int


def is_gsm7(text: str) -> bool:
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _widths(text: str, encoding: str) -> list[int]:
    """Each character's units, which stay together in one segment."""
    if encoding == GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def count_segments(text: str) -> Segments:
    """The encoding a phone network uses for ``text``, its length in that encoding, and its segments (0 for
    an empty text: nothing is sent)."""
    encoding = GSM7 if is_gsm7(text) else UCS2
    widths = _widths(text, encoding)
    units = sum(widths)
    single, part = _ROOM[encoding]
    if units == 0:
        return Segments(encoding, 0, 0)
    if units <= single:
        return Segments(encoding, units, 1)
    count, used = 1, 0
    for width in widths:
        if used + width > part:
            count, used = count + 1, 0
        used += width
    return Segments(encoding, units, count)
