"""Static files at fingerprinted URLs: ``/static/shop.<sha256 prefix>.css``, cached for a year.

The files are read into memory once per process: the shop's own (``web/static/``, package data) and the
vendored front-end packages installed by npm (``node_modules/``). Serving the bytes that were hashed means
a URL always names exactly one content, and nothing is copied anywhere at start-up, so no copy can go
stale or need a writable package directory. A change to a file is picked up by restarting the app.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

STATIC_PREFIX = "/static/"
DIGEST_LENGTH = 16
IMMUTABLE = "public, max-age=31536000, immutable"
# The shop's own files, in the package next to this module.
OWN_FILES = (
    "shop.js",
    "push.js",
    "checkout.js",
    "admin.js",
    "admin-products.js",
    "admin-variants.js",
    "admin-images.js",
    "admin-catalog.js",
    "favicon.svg",
)
# The one stylesheet pages link: the parts in ``static/css/`` joined in name order (00-base.css holds the
# design system; each area of the shop adds its own part), so authors never edit one file at once.
STYLESHEET = "shop.css"
STYLESHEET_PARTS = "css"
# Files of npm packages (package.json / package-lock.json pin their versions), by the name pages use.
VENDORED = {"htmx.min.js": Path("htmx.org") / "dist" / "htmx.min.js"}
MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    digest: str

    @property
    def fingerprinted(self) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        return f"{stem}.{self.digest[:DIGEST_LENGTH]}{dot}{suffix}"

    @property
    def url(self) -> str:
        return STATIC_PREFIX + self.fingerprinted

    @property
    def media_type(self) -> str:
        suffix = Path(self.name).suffix
        return MEDIA_TYPES.get(suffix) or mimetypes.guess_type(self.name)[0] or "application/octet-stream"


def _asset(name: str, body: bytes) -> Asset:
    return Asset(name=name, body=body, digest=hashlib.sha256(body).hexdigest())


def node_modules_candidates() -> list[Path]:
    """Where ``npm ci`` put the packages: the project root of a source checkout, else the working
    directory the shop was started from."""
    source_root = Path(__file__).resolve().parents[3]
    return [source_root / "node_modules", Path.cwd() / "node_modules"]


class Assets:
    def __init__(self, assets: list[Asset]) -> None:
        self._by_name = {a.name: a for a in assets}
        self._by_url_name = {a.fingerprinted: a for a in assets}

    def url(self, name: str) -> str | None:
        """The fingerprinted URL of ``name``, or None when that file is not installed."""
        asset = self._by_name.get(name)
        return asset.url if asset else None

    def lookup(self, fingerprinted: str) -> Asset | None:
        return self._by_url_name.get(fingerprinted)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name


def load_assets(node_modules: list[Path] | None = None) -> Assets:
    static = resources.files("emporium.web") / "static"
    found = [_asset(name, (static / name).read_bytes()) for name in OWN_FILES]
    parts = sorted(
        (part for part in (static / STYLESHEET_PARTS).iterdir() if part.name.endswith(".css")),
        key=lambda part: part.name,
    )
    found.append(_asset(STYLESHEET, b"\n".join(part.read_bytes() for part in parts)))
    roots = node_modules if node_modules is not None else node_modules_candidates()
    for name, relative in VENDORED.items():
        path = next((root / relative for root in roots if (root / relative).is_file()), None)
        if path is None:
            # The pages still work without it (the search form submits normally); say how to fix it.
            log.warning("frontend_package_missing", file=str(relative), fix="run `npm ci` in the project")
            continue
        found.append(_asset(name, path.read_bytes()))
    return Assets(found)


@lru_cache(maxsize=1)
def shop_assets() -> Assets:
    return load_assets()
