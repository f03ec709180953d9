"""The reviews of a product in the shop: another sort, star or page of them (/p/{slug}/reviews, an htmx
fragment, or without scripts a page of its own), writing, editing and deleting one's own review, and
voting on and reporting someone else's.

Every change goes through the reviews service, which decides who may write (eligibility, one review per
customer, the rate limits, the honeypot) and whether a review is published at once or waits for a
moderator. A refused review comes back as the product page with the form as it was sent and the reasons
next to the fields (4xx); a written one as the product page saying whether it is published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from emporium.catalog.errors import CatalogError
from emporium.catalog.schemas import ProductRead
from emporium.core.errors import NotFound, ValidationFailed
from emporium.core.params import IdPath
from emporium.reviews.errors import ReviewCode, ReviewError
from emporium.reviews.schemas import ReviewCreate, ReviewRead, ReviewStatus, ReviewUpdate
from emporium.reviews.service import reviews
from emporium.web.account_pages import form_values
from emporium.web.page import NO_STORE, PageContext, ShopPage
from emporium.web.product_page import SLUG, _product, find_category, render_product
from emporium.web.review_block import (
    HONEYPOT,
    REPORT_REASONS,
    ReviewForm,
    new_form,
    read_query,
    reviews_view,
)
from emporium.web.routing import page_router

router = page_router()

FORM_FIELDS = ("rating", "title", "body", HONEYPOT)
MESSAGES = {
    "rating": "Choose how many stars you give, from 1 to 5.",
    "title": "Keep the title under {max} characters, on one line.",
    "body": "Keep your review under {max:,} characters.",
}
EMPTY_BODY = "Write a few words about the product."
# One address answers the list (htmx) or a whole page: a cache must keep them apart.
VARY = "Cookie, HX-Request"
REPORTED = "Thank you for telling us. A moderator will look at this review."


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _slug(slug: str) -> str:
    """A product address that could exist (it is written into the redirects below)."""
    if not SLUG.fullmatch(slug) or len(slug) > 220:
        raise NotFound("Product not found.", code=CatalogError.PRODUCT_NOT_FOUND)
    return slug


def _sign_in(page: PageContext, back: str) -> Response:
    """A guest who posts is sent to sign in and brought back; htmx is told to load that page."""
    target = "/account/sign-in?" + urlencode({"next": back})
    if _htmx(page.request):
        response = Response(status_code=200, headers={"HX-Redirect": target, "Cache-Control": NO_STORE})
        page.browser.apply(response)
        return response
    return page.redirect(target)


# Reading ---------------------------------------------------------------------------------------------------


@router.get("/p/{slug}/reviews", response_class=HTMLResponse)
async def review_list(page: ShopPage, slug: str) -> HTMLResponse:
    """Another sort, star or page of a product's reviews: the list for htmx to swap in, or without
    scripts a page with the product's whole reviews block. Senseless parameters are ignored and said so."""
    product = await _product(page, slug)
    query = read_query(page.request.query_params)
    if _htmx(page.request):
        view = await reviews_view(page, product, query, with_eligibility=False)
        response = await page.fragment("web/catalog/_review_list.html.j2", product=product, reviews_view=view)
        response.headers["Vary"] = VARY
        return response
    view = await reviews_view(page, product, query)
    categories = await page.categories()
    breadcrumbs = (find_category(categories, product.category.slug) or []) if product.category else []
    response = await page.render(
        "web/catalog/reviews_page.html.j2",
        title=f"Reviews of {product.name}",
        meta_description=f"What customers say about {product.name}."[:300],
        canonical_url=page.settings.public_url.rstrip("/") + view.url(page=query.page),
        product=product,
        breadcrumbs=breadcrumbs,
        reviews_view=view,
    )
    response.headers["Vary"] = VARY
    return response


# Writing, editing, deleting one's own ---------------------------------------------------------------------


Input = TypeVar("Input", bound=ReviewUpdate)


def _checked(values: dict[str, str], model: type[Input]) -> tuple[Input | None, dict[str, str]]:
    """The form's values as the service's input, or the reasons (one sentence per field) it is refused."""
    errors: dict[str, str] = {}
    rating = values["rating"].strip()
    if rating not in {"1", "2", "3", "4", "5"}:
        errors["rating"] = MESSAGES["rating"]
    if not values["body"].strip():
        errors["body"] = EMPTY_BODY
    try:
        data = model.model_validate(
            {"rating": int(rating) if rating.isdigit() and len(rating) == 1 else 0, **_texts(values, model)}
        )
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "form"
            if name in ("title", "body") and name not in errors:
                errors[name] = _length_message(name, error)
            elif name == HONEYPOT:
                errors.setdefault("form", "This form could not be sent. Reload the page and try again.")
        return None, errors
    return (None, errors) if errors else (data, errors)


def _texts(values: dict[str, str], model: type[Input]) -> dict[str, str]:
    texts = {"title": values["title"], "body": values["body"]}
    if model is ReviewCreate:
        texts[HONEYPOT] = values[HONEYPOT]
    return texts


def _length_message(name: str, error: Any) -> str:
    if error.get("type") == "string_too_long":
        limit = int(error.get("ctx", {}).get("max_length", 0))
        return MESSAGES[name].format(max=limit)
    if name == "title":
        return "Write the title on one line, without special characters."
    return "Remove the special characters from your review."


def _shown(values: dict[str, str]) -> dict[str, str]:
    """A refused form keeps what was typed (never the honeypot's value)."""
    return {name: values[name] for name in ("rating", "title", "body")}


async def _refused(
    page: PageContext, product: ProductRead, form: ReviewForm, status_code: int, headers: dict[str, str]
) -> HTMLResponse:
    response = await render_product(page, product, status_code=status_code, review_form=form)
    response.headers.update(headers)
    return response


def _after(slug: str, review: ReviewRead) -> str:
    outcome = "published" if review.status == ReviewStatus.APPROVED else "pending"
    return f"/p/{slug}?review={outcome}#reviews"


@router.post("/p/{slug}/reviews", response_class=HTMLResponse, response_model=None)
async def write_review(request: Request, page: ShopPage, slug: str) -> Response:
    product = await _product(page, slug)
    customer = page.customer
    if customer is None:
        return _sign_in(page, f"/p/{product.slug}#write-review")
    values = await form_values(request, FORM_FIELDS)
    form = new_form(product.slug)
    form.values = _shown(values)
    data, form.errors = _checked(values, ReviewCreate)
    if data is None:
        return await _refused(page, product, form, 422, {})
    try:
        written = await reviews.write(
            page.session,
            page.settings,
            customer.id,
            product.id,
            data,
            request.client.host if request.client else None,
            limiter=page.ctx.limiter,
        )
    except ReviewError as exc:
        form.errors = {"form": exc.message}
        return await _refused(page, product, form, exc.status_code, exc.headers or {})
    return page.redirect(_after(product.slug, written))


@router.post("/p/{slug}/reviews/{review_id}/edit", response_class=HTMLResponse, response_model=None)
async def edit_review(request: Request, page: ShopPage, slug: str, review_id: IdPath) -> Response:
    product = await _product(page, slug)
    customer = page.customer
    if customer is None:
        return _sign_in(page, f"/p/{product.slug}#your-review")
    values = await form_values(request, FORM_FIELDS)
    data, errors = _checked(values, ReviewUpdate)
    if data is not None:
        try:
            edited = await reviews.edit(page.session, page.settings, customer.id, review_id, data)
        except ReviewError as exc:
            if exc.code == ReviewCode.REVIEW_NOT_FOUND:
                raise
            errors = {"form": exc.message}
        else:
            return page.redirect(_after(product.slug, edited))
    form = ReviewForm("edit", f"/p/{product.slug}/reviews/{review_id}/edit", _shown(values), errors)
    return await _refused(page, product, form, 422, {})


@router.post("/p/{slug}/reviews/{review_id}/delete", response_model=None)
async def delete_review(page: ShopPage, slug: str, review_id: IdPath) -> Response:
    slug = _slug(slug)
    customer = page.customer
    if customer is None:
        return _sign_in(page, f"/p/{slug}#your-review")
    await reviews.delete(page.session, customer.id, review_id)
    return page.redirect(f"/p/{slug}?review=deleted#reviews")


# Someone else's review: helpful or not, and reports ------------------------------------------------------


@dataclass(frozen=True)
class VoteTally:
    """What the votes fragment shows of a review after a vote."""

    id: int
    helpful_count: int
    not_helpful_count: int
    is_own: bool = False


def _helpful(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValidationFailed(
            "Choose whether the review was helpful.",
            details=[{"field": "helpful", "message": "Choose Yes or No."}],
        )
    return raw == "1"


@router.post("/p/{slug}/reviews/{review_id}/vote", response_class=HTMLResponse, response_model=None)
async def vote(request: Request, page: ShopPage, slug: str, review_id: IdPath) -> Response:
    """Helpful or not: htmx gets the review's new counts; without scripts, the product page again."""
    slug = _slug(slug)
    customer = page.customer
    if customer is None:
        return _sign_in(page, f"/p/{slug}#review-{review_id}")
    helpful = _helpful((await form_values(request, ("helpful",)))["helpful"])
    counts = await reviews.vote(page.session, customer.id, review_id, helpful)
    if not _htmx(request):
        return page.redirect(f"/p/{slug}#review-{review_id}")
    tally = VoteTally(review_id, counts.helpful, counts.not_helpful)
    return await page.fragment(
        "web/catalog/_review_votes.html.j2",
        review=tally,
        product={"slug": slug},
        vote_message="Thank you for your vote.",
    )


@router.post("/p/{slug}/reviews/{review_id}/report", response_class=HTMLResponse, response_model=None)
async def report(request: Request, page: ShopPage, slug: str, review_id: IdPath) -> Response:
    """A reader tells the moderators about a review; thanked in place (htmx) or on the product page."""
    slug = _slug(slug)
    customer = page.customer
    if customer is None:
        return _sign_in(page, f"/p/{slug}#review-{review_id}")
    reason = (await form_values(request, ("reason",)))["reason"].strip()
    if reason not in REPORT_REASONS:
        reason = REPORT_REASONS[-1]
    await reviews.report(page.session, page.settings, customer.id, review_id, reason)
    if not _htmx(request):
        return page.redirect(f"/p/{slug}?review=reported#review-{review_id}")
    return await page.fragment("web/catalog/_review_reported.html.j2", review_id=review_id, message=REPORTED)
