"""Quiet hours: when a message on a channel that interrupts (SMS, WhatsApp, push) must wait, in the
recipient's own time zone. A message due inside them is held until they end, never dropped."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emporium.notifications.events import PHONE_CHANNELS, PUSH

QUIET_CHANNELS = frozenset({*PHONE_CHANNELS, PUSH})


def parse_window(text: str | None) -> tuple[time, time] | None:
    """``"21:00-08:00"`` as (start, end); None for an empty text. ValueError when malformed."""
    if not text:
        return None
    start_text, sep, end_text = text.partition("-")
    if not sep:
        raise ValueError(f"quiet hours look like 21:00-08:00, not {text!r}")
    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
    return None if start == end else (start, end)


def zone(name: str | None, fallback: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or fallback)
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo(fallback)


def quiet_until(now: datetime, window: tuple[time, time] | None, tz: ZoneInfo) -> datetime | None:
    """The UTC moment the quiet hours containing ``now`` end; None when ``now`` is outside them."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    if start < end:
        inside = start <= clock < end
        end_day = local.date()
    else:  # the window crosses midnight
        inside = clock >= start or clock < end
        end_day = local.date() + timedelta(days=1) if clock >= start else local.date()
    if not inside:
        return None
    ends = datetime.combine(end_day, end, tzinfo=tz)
    return ends.astimezone(now.tzinfo)
