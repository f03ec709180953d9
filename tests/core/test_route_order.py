"""The storefront's router is tried before most API routers (see DOMAIN_ROUTERS): none of its routes may
answer a path that a router after it serves."""

from __future__ import annotations

import re

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from emporium.app import DOMAIN_ROUTERS
from emporium.web.router import router as web_router


def routes_of(router: APIRouter) -> list[BaseRoute]:
    found: list[BaseRoute] = []
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        found += routes_of(inner) if isinstance(inner, APIRouter) else [route]
    return found


def a_path_of(route: APIRoute) -> str:
    """A concrete path the route serves: each parameter replaced by a digit (ids and slugs alike)."""
    return re.sub(r"\{[^}]+\}", "1", route.path)


def test_no_storefront_page_answers_a_path_of_a_later_router() -> None:
    later = DOMAIN_ROUTERS[DOMAIN_ROUTERS.index(web_router) + 1 :]
    pages = [route for route in routes_of(web_router) if isinstance(route, APIRoute)]
    served = [a_path_of(r) for router in later for r in routes_of(router) if isinstance(r, APIRoute)]
    assert pages
    assert served
    shadowed = [(page.path, path) for page in pages for path in served if page.path_regex.match(path)]
    assert shadowed == []
