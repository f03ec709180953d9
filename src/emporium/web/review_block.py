"""What the product page's reviews block shows: one page of approved reviews (its sort, star filter and page
read leniently from the address), the rating summary with its per-star counts, and what the visitor may
do (sign in, write, or see, edit and delete their own review), all from the reviews service.

The routes that change reviews live in ``review_pages``; this module only reads, so the product page can
draw the block without importing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlencode

from emporium.catalog.schemas import ProductRead
from emporium.core.responses import Pagination
from emporium.reviews.schemas import (
    MAX_BODY,
    MAX_TITLE,
    Eligibility,
    RatingSummaryRead,
    ReviewPage,
    ReviewRead,
    ReviewSort,
)
from emporium.reviews.service import reviews
from emporium.reviews.showcase import showcase
from emporium.web.page import PageContext
from emporium.web.templating import page_url

SORTS: tuple[tuple[ReviewSort, str], ...] = (
    ("newest", "Newest"),
    ("helpful", "Most helpful"),
    ("highest", "Highest rated"),
    ("lowest", "Lowest rated"),
)
DEFAULT_SORT: ReviewSort = "newest"
PER_PAGE = 10
MAX_PAGE = 10_000
# The field people leave empty; the reviews service stores a review that fills it as spam.
HONEYPOT = "website"
REPORT_REASONS = (
    "Spam or advertising",
    "Rude, hateful or offensive",
    "Not about this product",
    "Contains personal information",
    "Something else",
)
STATUS_LABELS = {
    "pending": "Awaiting moderation: other shoppers will see it once it is approved.",
    "approved": "Published",
    "rejected": "Not published: it did not meet our review guidelines.",
    "spam": "Not published: it did not meet our review guidelines.",
}
# After a change the product page is shown again with ``?review=<key>``: what to say.
FLASHES = {
    "published": "Thank you! Your review is published.",
    "pending": "Thank you! Your review will appear once a moderator has approved it.",
    "deleted": "Your review was deleted.",
    "reported": "Thank you for telling us. A moderator will look at this review.",
}


@dataclass(frozen=True)
class ReviewQuery:
    """The sort, star filter and page asked for, and what was ignored in the asking (said in the page)."""

    sort: ReviewSort = DEFAULT_SORT
    rating: int | None = None
    page: int = 1
    notices: tuple[str, ...] = ()


def _number(text: str | None) -> int | None:
    value = (text or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None


def read_query(params: Mapping[str, str]) -> ReviewQuery:
    """Each parameter read on its own; one that makes no sense is ignored, with a sentence saying so."""
    notices: list[str] = []
    sort_text = (params.get("sort") or "").strip()
    sort = next((key for key, _ in SORTS if key == sort_text), None)
    if sort is None:
        if sort_text:
            notices.append("That sort order does not exist: the newest reviews are shown first.")
        sort = DEFAULT_SORT
    rating_text = (params.get("rating") or "").strip()
    rating = _number(rating_text)
    if rating_text and (rating is None or not 1 <= rating <= 5):
        notices.append("Reviews can be filtered by 1 to 5 stars: all reviews are shown.")
        rating = None
    page_text = (params.get("page") or "").strip()
    page = _number(page_text)
    if page_text and (page is None or not 1 <= page <= MAX_PAGE):
        notices.append("That page does not exist: the first page is shown.")
        page = None
    return ReviewQuery(sort, rating, page or 1, tuple(notices))


@dataclass
class ReviewForm:
    """The review form as shown: what was typed and, after a refusal, why (by field, or ``form``)."""

    mode: Literal["new", "edit"]
    action: str
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    honeypot: str = HONEYPOT
    title_max: int = MAX_TITLE
    body_max: int = MAX_BODY

    @property
    def form_id(self) -> str:
        return "write-review" if self.mode == "new" else "edit-review"

    @property
    def submit_label(self) -> str:
        return "Post your review" if self.mode == "new" else "Save your review"


def new_form(slug: str) -> ReviewForm:
    return ReviewForm("new", f"/p/{slug}/reviews", {"rating": "", "title": "", "body": ""})


def edit_form(slug: str, review: ReviewRead) -> ReviewForm:
    values = {"rating": str(review.rating), "title": review.title, "body": review.body}
    return ReviewForm("edit", f"/p/{slug}/reviews/{review.id}/edit", values)


@dataclass
class ReviewsView:
    slug: str
    listing: ReviewPage
    query: ReviewQuery
    eligibility: Eligibility | None
    form: ReviewForm | None = None
    flash: str | None = None
    sorts: tuple[tuple[ReviewSort, str], ...] = SORTS
    report_reasons: tuple[str, ...] = REPORT_REASONS

    @property
    def path(self) -> str:
        return f"/p/{self.slug}/reviews"

    @property
    def items(self) -> list[ReviewRead]:
        return self.listing.items

    @property
    def summary(self) -> RatingSummaryRead:
        return self.listing.summary

    @property
    def pages(self) -> int:
        return self.listing.pagination.pages

    @property
    def page(self) -> int:
        return self.query.page

    @property
    def sort(self) -> ReviewSort:
        return self.query.sort

    @property
    def rating(self) -> int | None:
        return self.query.rating

    @property
    def notices(self) -> tuple[str, ...]:
        return self.query.notices

    def url(self, *, page: int = 1, **changes: object) -> str:
        """This listing's address at ``page`` with ``changes`` (``rating=None`` drops the filter)."""
        params: dict[str, object] = {"sort": None if self.sort == DEFAULT_SORT else self.sort}
        params["rating"] = self.rating
        params.update(changes)
        if params["sort"] == DEFAULT_SORT:
            params["sort"] = None
        return page_url(self.path, params, page)

    @property
    def own_review(self) -> ReviewRead | None:
        return self.eligibility.own_review if self.eligibility else None

    @property
    def may_write(self) -> bool:
        return bool(self.eligibility and self.eligibility.may_write)

    @property
    def reason(self) -> str:
        return (self.eligibility.reason if self.eligibility else None) or "You cannot review this product."

    @property
    def refusal(self) -> str | None:
        """Why a new review was refused, when the form it came from is no longer shown (the customer has
        a review already, or may not write one)."""
        if self.form is None or self.form.mode != "new" or self.may_write:
            return None
        return self.form.errors.get("form")

    @property
    def sign_in_url(self) -> str:
        return "/account/sign-in?" + urlencode({"next": f"/p/{self.slug}#write-review"})

    @property
    def new_form(self) -> ReviewForm:
        return self.form if self.form and self.form.mode == "new" else new_form(self.slug)

    @property
    def edit_form(self) -> ReviewForm:
        if self.form and self.form.mode == "edit":
            return self.form
        own = self.own_review
        return edit_form(self.slug, own) if own else new_form(self.slug)

    @staticmethod
    def status_label(status: str) -> str:
        return STATUS_LABELS.get(status, status)


async def _first_page(page: PageContext, product: ProductRead, viewer: int | None) -> ReviewPage:
    """The newest reviews as the product page first shows them: nothing to read for a product nobody has
    reviewed (its count comes with the product), else one statement with the per-star summary."""
    if product.rating.count == 0:
        return ReviewPage(
            items=[],
            pagination=Pagination.of(1, PER_PAGE, 0),
            summary=RatingSummaryRead(count=0, average=None, per_star=dict.fromkeys(range(1, 6), 0)),
        )
    return await showcase.first_page(page.session, product.id, viewer_id=viewer, limit=PER_PAGE)


async def reviews_view(
    page: PageContext,
    product: ProductRead,
    query: ReviewQuery | None = None,
    form: ReviewForm | None = None,
    *,
    with_eligibility: bool = True,
) -> ReviewsView:
    """The block for ``product``: one page of reviews and, for a signed-in visitor, what they may do (a
    guest is simply asked to sign in, without asking the database)."""
    asked = query or ReviewQuery()
    viewer = page.customer.id if page.customer else None
    if asked == ReviewQuery():
        listing = await _first_page(page, product, viewer)
    else:
        listing = await reviews.page_for_product(
            page.session,
            product.id,
            viewer_id=viewer,
            sort=asked.sort,
            rating=asked.rating,
            page=asked.page,
            limit=PER_PAGE,
        )
    eligibility = None
    if viewer is not None and with_eligibility:
        eligibility = await reviews.eligibility(page.session, page.settings, viewer, product.id)
    flash = FLASHES.get(page.request.query_params.get("review") or "")
    return ReviewsView(product.slug, listing, asked, eligibility, form, flash)
