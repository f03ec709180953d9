"""Product search: relevance ranking, facets, typo tolerance and autocomplete.

Flow of a search (one statement, two on the typo path; three on SQLite):
1. one pass over the match: the total, every facet count for the whole matching set, and the requested
   page, ranked by relevance (a top-k sort), with what its hits show (at most ``limit`` products read by
   primary key);
2. if nothing matched: close spellings of each word (PostgreSQL: the nearest words of the dictionary by
   trigram distance, which step 1 returned when it matched nothing; SQLite: the words of the products
   sharing most trigrams with the query, one more statement), from which each unknown word gets its
   closest spelling; the corrected query is run through step 1 again and named in ``did_you_mean``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from emporium.catalog.media.service import image_urls
from emporium.catalog.schemas import ImageRead
from emporium.catalog.search import schemas
from emporium.catalog.search.repository import RATING_FLOORS, SearchIndex, correctable_terms
from emporium.core.config import Settings
from emporium.core.money import exponent, from_minor
from emporium.core.pagination import PageParams
from emporium.core.responses import Pagination

MAX_QUERY_LENGTH = 200
MAX_TERMS = 12
MAX_TERM_LENGTH = 40
AUTOCOMPLETE_LIMIT = 10

# Fixed price bands, in major units of the shop currency: [0, 10), [10, 25), ... [500, no limit).
PRICE_BAND_EDGES: tuple[int, ...] = (10, 25, 50, 100, 250, 500)
RATING_THRESHOLDS: tuple[int, ...] = RATING_FLOORS

_WORD = re.compile(r"[^\W_]+")
# Words that carry no meaning alone (and the FTS operator names): left out unless nothing else is typed.
STOPWORDS = frozenset({"a", "an", "and", "or", "not", "near", "the", "of", "for", "with", "in", "on", "to"})


def normalise(query: str) -> str:
    """Compatibility-normalised, lower-cased, without control characters (NUL included)."""
    folded = unicodedata.normalize("NFKC", query).lower()
    return "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in folded).strip()


def terms_of(query: str) -> list[str]:
    """The words of a query: letters and digits only, so that no search-syntax operator survives."""
    words = [word[:MAX_TERM_LENGTH] for word in _WORD.findall(normalise(query))]
    meaningful = [word for word in words if word not in STOPWORDS]
    return (meaningful or words)[:MAX_TERMS]


def edit_distance(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (a swap of neighbours counts once); ``limit + 1`` when over."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_typos(term: str) -> int:
    return 0 if len(term) <= 3 else 1 if len(term) <= 5 else 2


def prefix_distance(term: str, word: str, limit: int) -> int:
    """The fewest edits that turn ``term`` into a beginning of ``word`` (what a half-typed word would
    be); ``limit + 1`` when over."""
    lengths = range(max(1, len(term) - limit), min(len(word), len(term) + limit) + 1)
    return min((edit_distance(term, word[:k], limit) for k in lengths), default=limit + 1)


def _closest(term: str, preference: Mapping[str, int], *, prefix: bool = False) -> str:
    """The word within the term's allowed edits with the fewest edits, then the lowest ``preference``,
    then the shortest; the term itself when it is known, a number, or nothing is close enough.
    ``prefix``: the term is the beginning of a word still being typed, measured against beginnings."""
    limit = allowed_typos(term)
    # A number is meant as typed: 2025 is not a typo of 2024.
    if term in preference or not limit or term.isdigit():
        return term
    measure = prefix_distance if prefix else edit_distance
    best: tuple[int, int, int, str] | None = None
    for word, rank in preference.items():
        distance = measure(term, word, limit)
        if distance <= limit:
            key = (distance, rank, len(word), word)
            best = key if best is None or key < best else best
    return best[3] if best else term


def correct(terms: Sequence[str], candidate_texts: Sequence[str], *, prefix_last: bool = False) -> list[str]:
    """Each term replaced by the closest word of the candidate texts (fewest edits, then the most
    frequent, then the shortest); kept as typed when it is known or nothing is close enough.
    ``prefix_last``: the last term is a beginning still being typed (autocomplete)."""
    counts = Counter(word for words in candidate_texts for word in _WORD.findall(words))
    preference = {word: -count for word, count in counts.items()}
    last = len(terms) - 1
    return [_closest(term, preference, prefix=prefix_last and i == last) for i, term in enumerate(terms)]


def correct_nearest(
    terms: Sequence[str], nearest: Mapping[str, Sequence[str]], *, prefix_last: bool = False
) -> list[str]:
    """Each term replaced by the closest of its own nearest dictionary words (fewest edits, then the
    nearest by trigrams, then the shortest); kept as typed when it is a dictionary word (or has no
    candidates, e.g. a number) or nothing is close enough. ``prefix_last`` as for ``correct``."""
    corrected: list[str] = []
    for i, term in enumerate(terms):
        words = nearest.get(term, ())
        prefix = prefix_last and i == len(terms) - 1
        corrected.append(
            _closest(term, {w: r for r, w in enumerate(words)}, prefix=prefix) if words else term
        )
    return corrected


@dataclass(frozen=True)
class _Pass:
    """What one ``facet_rows`` statement said."""

    total: int
    facets: schemas.Facets
    hits: list[schemas.SearchHit]
    # Dictionary words nearest to each correctable term (by its index), nearest first.
    nearest: dict[int, list[str]]


@dataclass(frozen=True)
class SearchResult:
    hits: list[schemas.SearchHit]
    pagination: Pagination
    facets: schemas.Facets
    did_you_mean: str | None


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def _ref(id_: Any, name: Any, slug: Any) -> schemas.NamedRef | None:
    return schemas.NamedRef(id=id_, name=name, slug=slug) if id_ is not None else None


def _price(minor: int | None, currency: str) -> Decimal | None:
    return from_minor(minor, currency) if minor is not None else None


def _image(row: Mapping[str, Any], settings: Settings) -> ImageRead | None:
    if row["image_id"] is None:
        return None
    files = row["image_files"]
    return ImageRead(
        id=row["image_id"],
        variant_id=row["image_variant_id"],
        alt_text=row["image_alt_text"],
        position=row["image_position"],
        width=row["image_width"],
        height=row["image_height"],
        urls=image_urls(settings, json.loads(files) if isinstance(files, str) else files),
    )


def _hit(row: Mapping[str, Any], settings: Settings) -> schemas.SearchHit:
    """A ``hit`` row of ``facet_rows``: the product is ``key``, its position in the page ``n``."""
    return schemas.SearchHit(
        id=row["key"],
        name=row["name"],
        slug=row["slug"],
        price_min=_price(row["price_min_minor"], row["currency"]),
        price_max=_price(row["price_max_minor"], row["currency"]),
        currency=row["currency"],
        in_stock=bool(row["in_stock"]),
        rating=schemas.Rating(average=_decimal(row["rating_average"]), count=row["rating_count"]),
        category=_ref(row["category_id"], row["category_name"], row["category_slug"]),
        brand=_ref(row["brand_id"], row["brand_name"], row["brand_slug"]),
        image=_image(row, settings),
    )


def _by_count(facet: schemas.FacetCount) -> tuple[int, str, int]:
    return (-facet.count, facet.name.lower(), facet.id)


def _price_band_counts(bands: dict[int, int], currency: str) -> list[schemas.PriceBandCount]:
    """Every price band of the facet, ``[0, 10)`` ... ``[500, ∞)``, with the count ``bands`` gives it."""
    edges = (0, *PRICE_BAND_EDGES)
    return [
        schemas.PriceBandCount(
            key=f"{low}-{edges[i + 1]}" if i + 1 < len(edges) else f"{low}+",
            min=from_minor(low * 10 ** exponent(currency), currency),
            max=from_minor(edges[i + 1] * 10 ** exponent(currency), currency) if i + 1 < len(edges) else None,
            count=bands.get(i, 0),
        )
        for i, low in enumerate(edges)
    ]


@dataclass
class _Tally:
    """The rows of one ``facet_rows`` statement, gathered by their kind."""

    total: int = 0
    # Dictionary words near each correctable term (by its index), with their rank.
    nearest: dict[int, list[tuple[int, str]]] = field(default_factory=dict)
    page: list[tuple[int, schemas.SearchHit]] = field(default_factory=list)
    categories: list[schemas.FacetCount] = field(default_factory=list)
    brands: list[schemas.FacetCount] = field(default_factory=list)
    bands: dict[int, int] = field(default_factory=dict)
    stock: dict[int, int] = field(default_factory=lambda: {0: 0, 1: 0})
    ratings: dict[int, int] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any], settings: Settings) -> None:
        kind, key, name, slug, n = row["kind"], row["key"], row["name"], row["slug"], row["n"]
        if kind == "total":
            self.total = int(n)
        elif kind == "hit":
            self.page.append((int(n), _hit(row, settings)))
        elif kind == "near":
            self.nearest.setdefault(int(key), []).append((int(n), str(name)))
        elif kind == "category":
            self.categories.append(schemas.FacetCount(id=key, name=name, slug=slug, count=n))
        elif kind == "brand":
            self.brands.append(schemas.FacetCount(id=key, name=name, slug=slug, count=n))
        elif kind == "price":
            self.bands[int(key)] = int(n)
        elif kind == "stock":
            self.stock[int(key)] = int(n)
        else:
            self.ratings[int(key)] = int(n)

    def facets(self, currency: str) -> schemas.Facets:
        return schemas.Facets(
            categories=sorted(self.categories, key=_by_count),
            brands=sorted(self.brands, key=_by_count),
            price_bands=_price_band_counts(self.bands, currency),
            availability=schemas.StockCounts(in_stock=self.stock[1], out_of_stock=self.stock[0]),
            ratings=[
                schemas.RatingCount(min_rating=r, count=self.ratings.get(r, 0)) for r in RATING_THRESHOLDS
            ],
        )


class SearchService:
    def band_edges(self, currency: str) -> list[int]:
        return [edge * 10 ** exponent(currency) for edge in PRICE_BAND_EDGES]

    def _read(self, rows: Sequence[Any], settings: Settings) -> _Pass:
        """The total, the facets, the page's hits (in rank order) and the nearest words of ``facet_rows``."""
        tally = _Tally()
        for row in rows:
            tally.add(row, settings)
        return _Pass(
            tally.total,
            tally.facets(settings.currency),
            [hit for _, hit in sorted(tally.page, key=lambda ranked: ranked[0])],
            {term: [word for _, word in sorted(words)] for term, words in tally.nearest.items()},
        )

    async def search(
        self,
        session: AsyncSession,
        query: str,
        filters: schemas.SearchFilters,
        page: PageParams,
        *,
        settings: Settings,
    ) -> SearchResult:
        """In the shop's currency (``settings.currency``); the hits' pictures at the media's URLs."""
        index = SearchIndex(session)
        terms = terms_of(query)
        edges = self.band_edges(settings.currency)
        if not terms:
            return SearchResult(
                [], Pagination.of(page.page, page.limit, 0), self._read([], settings).facets, None
            )
        found = self._read(
            await index.facet_rows(terms, filters, edges, limit=page.limit, offset=page.offset, nearest=True),
            settings,
        )
        did_you_mean = None
        if found.total == 0:
            if index.postgres:
                usable = correctable_terms(terms)
                nearest = {term: found.nearest.get(i, []) for i, term in enumerate(usable)}
                corrected = correct_nearest(terms, nearest)
            else:
                corrected = correct(terms, await index.typo_candidates(terms))
            if corrected != terms:
                did_you_mean = " ".join(corrected)
                terms = corrected
                rows = await index.facet_rows(terms, filters, edges, limit=page.limit, offset=page.offset)
                found = self._read(rows, settings)
        pagination = Pagination.of(page.page, page.limit, found.total)
        return SearchResult(found.hits, pagination, found.facets, did_you_mean)

    async def autocomplete(self, session: AsyncSession, query: str) -> list[schemas.Suggestion]:
        """Up to ten suggestions: product names holding the typed words (the last as a prefix), then
        categories and brands whose name starts with the text; in one statement. When no product name
        holds the words as typed, their closest known spellings (the last measured as a beginning) are
        tried instead, as search does: one more statement (two on SQLite, which reads its candidate words
        on their own)."""
        terms = terms_of(query)
        if not terms:
            return []
        index = SearchIndex(session)
        rows = await index.autocomplete_rows(terms, normalise(query), AUTOCOMPLETE_LIMIT, nearest=True)
        products = [row for row in rows if row["kind"] == "product"]
        if not products:
            if index.postgres:
                near: dict[int, list[tuple[int, str]]] = {}
                for row in rows:
                    if row["kind"] == "near":
                        near.setdefault(int(row["id"]), []).append((int(row["n"]), str(row["name"])))
                usable = correctable_terms(terms)
                nearest = {term: [w for _, w in sorted(near.get(i, []))] for i, term in enumerate(usable)}
                corrected = correct_nearest(terms, nearest, prefix_last=True)
            else:
                corrected = correct(terms, await index.typo_candidates(terms), prefix_last=True)
            if corrected != terms:
                products = list(await index.autocomplete_rows(corrected, None, AUTOCOMPLETE_LIMIT))
        names = sorted(
            (row for row in rows if row["kind"] in ("category", "brand")), key=lambda r: int(r["n"])
        )
        found = sorted(products, key=lambda row: int(row["n"])) + names
        return [
            schemas.Suggestion(type=row["kind"], id=row["id"], text=row["name"], slug=row["slug"])
            for row in found[:AUTOCOMPLETE_LIMIT]
        ]


search_service = SearchService()
