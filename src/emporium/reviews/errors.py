"""The refusals of reviews, each with a stable code. Clients match on these strings; a value never changes
once published. The storefront catches ``ReviewError`` to show the message next to the form."""

from __future__ import annotations

from enum import StrEnum

from emporium.core.errors import EmporiumError


class ReviewCode(StrEnum):
    REVIEW_NOT_FOUND = "REVIEW_NOT_FOUND"
    REVIEW_EXISTS = "REVIEW_EXISTS"
    REVIEW_NOT_ALLOWED = "REVIEW_NOT_ALLOWED"
    OWN_REVIEW_VOTE = "OWN_REVIEW_VOTE"
    OWN_REVIEW_REPORT = "OWN_REVIEW_REPORT"
    PRODUCT_NOT_FOUND = "PRODUCT_NOT_FOUND"
    RATE_LIMITED = "RATE_LIMITED"


class ReviewError(EmporiumError):
    """Base of every review refusal."""


class ReviewNotFound(ReviewError):
    status_code = 404
    code = ReviewCode.REVIEW_NOT_FOUND
    message = "Review not found."


class ProductNotFound(ReviewError):
    status_code = 404
    code = ReviewCode.PRODUCT_NOT_FOUND
    message = "Product not found."


class ReviewExists(ReviewError):
    status_code = 409
    code = ReviewCode.REVIEW_EXISTS
    message = "You have reviewed this product."


class ReviewNotAllowed(ReviewError):
    status_code = 403
    code = ReviewCode.REVIEW_NOT_ALLOWED
    message = "Only customers who bought this product can review it."


class OwnReviewVote(ReviewError):
    status_code = 409
    code = ReviewCode.OWN_REVIEW_VOTE
    message = "You cannot vote on your own review."


class OwnReviewReport(ReviewError):
    status_code = 409
    code = ReviewCode.OWN_REVIEW_REPORT
    message = "You cannot report your own review."


class ReviewRateLimited(ReviewError):
    status_code = 429
    code = ReviewCode.RATE_LIMITED
    message = "You have written many reviews in a short time; try again later."

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = retry_after
