"""Build each route's request handler once per test process, not once per app.

FastAPI works out a route's dependencies, body and response models (the costly part: pydantic adapters for
every parameter) the first time an app matches a request, for each app anew. The tests make an app per test,
so that work was most of the suite's time. The result depends only on the route and how its router was
included, never on the app, except for ``app.dependency_overrides``, which Emporium does not use; so an
app's routes are built the first time and reused by every later app. The route handlers themselves, the
middleware and everything they call run unchanged.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from fastapi import routing

_build = routing._EffectiveRouteContext.from_api_route
_built: dict[tuple[int, int], list[tuple[Any, Any, Any]]] = {}


def _memoised(cls: Any, *, original_route: Any, include_context: Any) -> Any:
    assert not getattr(include_context.dependency_overrides_provider, "dependency_overrides", None), (
        "dependency overrides are set: build the routes per app (see tests/route_memo.py)"
    )
    inclusion = dataclasses.replace(include_context, dependency_overrides_provider=None)
    key = (id(original_route), id(include_context.included_router))
    # The route and the inclusion are kept with the result, so their ids are never reused by other objects.
    for route, seen, context in _built.get(key, []):
        if route is original_route and seen == inclusion:
            return context
    context = _build(original_route=original_route, include_context=include_context)
    _built.setdefault(key, []).append((original_route, inclusion, context))
    return context


def install() -> None:
    routing._EffectiveRouteContext.from_api_route = classmethod(_memoised)  # type: ignore[method-assign, assignment]
