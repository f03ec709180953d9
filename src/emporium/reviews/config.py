"""Review settings, read from ``EMPORIUM_REVIEWS_*`` variables: the reviews' part of the app's settings
(emporium/settings.py)."""

from __future__ import annotations

from pydantic import Field

from emporium.core.config import Settings


class ReviewSettings(Settings):
    # Only customers with a paid or delivered order line of the product may review it.
    reviews_buyers_only: bool = False
    # False: a new review waits for a moderator; True: it is shown at once unless something holds it.
    reviews_auto_publish: bool = False
    # An edited review goes back to the moderation queue (even when new reviews are published at once).
    reviews_edits_moderated: bool = True
    # A review reported by this many customers is hidden until a moderator decides.
    reviews_report_threshold: int = Field(default=3, ge=1)
    # Days after delivery when the customer is asked for a review; 0 switches review requests off.
    reviews_request_after_days: int = Field(default=7, ge=0, le=365)
    # Reviews and edits a customer, and an address, may write (limits' notation).
    reviews_rate_limit_customer: str = "10/hour"
    reviews_rate_limit_address: str = "30/hour"
    # Words (comma-separated, matched case-insensitively as whole words) that hold a review for moderation.
    reviews_banned_words: str = ""
