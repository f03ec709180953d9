"""What holds a review for a moderator: links, banned words, the honeypot, and the shop's setting."""

from __future__ import annotations

import re
from functools import lru_cache

from emporium.reviews.config import ReviewSettings
from emporium.reviews.models import ReviewStatus
from emporium.reviews.schemas import ReviewCreate, ReviewUpdate

# A web address in any usual spelling: a scheme, "www.", or a name under a common top-level domain.
_LINK = re.compile(
    r"(?:https?://|www\.|\b[a-z0-9-]+\.(?:com|net|org|io|co|ru|cn|info|biz|xyz|top|shop|site|online|ly)\b)",
    re.IGNORECASE,
)


@lru_cache(maxsize=8)
def _banned(words: str) -> re.Pattern[str] | None:
    listed = [w.strip() for w in words.split(",") if w.strip()]
    if not listed:
        return None
    return re.compile(r"\b(?:" + "|".join(re.escape(w) for w in listed) + r")\b", re.IGNORECASE)


def held_for(settings: ReviewSettings, data: ReviewUpdate) -> str | None:
    """Why the text must be read by a moderator first, or None."""
    text = f"{data.title}\n{data.body}"
    if _LINK.search(text):
        return "links"
    banned = _banned(settings.reviews_banned_words)
    if banned is not None and banned.search(text):
        return "banned_words"
    return None


def status_of_new(settings: ReviewSettings, data: ReviewCreate) -> tuple[ReviewStatus, str | None]:
    """A new review's status and, when it waits, why."""
    if data.website.strip():
        return ReviewStatus.SPAM, "honeypot"
    held = held_for(settings, data)
    if held is not None:
        return ReviewStatus.PENDING, held
    if settings.reviews_auto_publish:
        return ReviewStatus.APPROVED, None
    return ReviewStatus.PENDING, "new"


def status_of_edit(
    settings: ReviewSettings, current: str, data: ReviewUpdate
) -> tuple[ReviewStatus, str | None]:
    """An edited review's status: spam stays spam; otherwise it goes back to moderation (by default)."""
    if current == ReviewStatus.SPAM:
        return ReviewStatus.SPAM, "edited"
    held = held_for(settings, data)
    if held is not None:
        return ReviewStatus.PENDING, held
    if settings.reviews_edits_moderated or not settings.reviews_auto_publish:
        return ReviewStatus.PENDING, "edited"
    return ReviewStatus.APPROVED, None
