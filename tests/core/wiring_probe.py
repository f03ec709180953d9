"""Run as a script by test_wiring.py, in a fresh process: imports every module of emporium, then runs the
wiring step twice, and prints as JSON what the registries held after each stage."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Iterable
from typing import Any

import emporium
from emporium.accounts.hooks import LOGIN_HOOKS
from emporium.accounts.privacy import ERASERS, EXPORTERS
from emporium.core import changes
from emporium.core.jobs.registry import HANDLERS
from emporium.core.jobs.schedule import PERIODIC
from emporium.install import wire
from emporium.orders.lifecycle import CANCELLATION_HOOKS, MOVED_HOOKS, PLACED_HOOKS
from emporium.wiring import JobHandler, Wiring

# Alembic's env.py runs migrations when imported; it registers nothing either.
SKIPPED = ("emporium.migrations.",)


def _name(function: Callable[..., Any]) -> str:
    return f"{function.__module__}.{function.__qualname__}"


def _names(functions: Iterable[Callable[..., Any]]) -> list[str]:
    return [_name(f) for f in functions]


def registries() -> dict[str, Any]:
    return {
        "jobs": {name: [_name(spec.handler), spec.max_attempts] for name, spec in HANDLERS.items()},
        "periodic": {name: spec.every_seconds for name, spec in PERIODIC.items()},
        "login_hooks": _names(LOGIN_HOOKS),
        "exporters": {name: _name(f) for name, f in EXPORTERS.items()},
        "erasers": [[name, _name(f)] for name, f in ERASERS.items()],
        "placed_hooks": _names(PLACED_HOOKS),
        "cancellation_hooks": _names(CANCELLATION_HOOKS),
        "moved_hooks": _names(MOVED_HOOKS),
        "cache_watches": {table: sorted(stamps) for table, stamps in changes.watched().items()},
    }


def main() -> None:
    modules = [
        info.name
        for info in pkgutil.walk_packages(emporium.__path__, "emporium.")
        if not info.name.startswith(SKIPPED)
    ]
    for module in modules:
        importlib.import_module(module)
    imported = registries()
    # Every job name the code holds: the module constants named ``*_JOB``.
    named = sorted(
        {
            value
            for module in modules
            for attribute, value in vars(importlib.import_module(module)).items()
            if attribute.endswith("_JOB") and isinstance(value, str)
        }
    )

    registered: list[str] = []

    class Recording(Wiring):
        def job(self, name: str, handler: JobHandler, *, max_attempts: int | None = None) -> None:
            registered.append(name)
            super().job(name, handler, max_attempts=max_attempts)

    wire(Recording())
    wired = registries()
    wire()
    print(
        json.dumps(
            {
                "modules": len(modules),
                "after_import": imported,
                "job_names_in_code": named,
                "jobs_installed": registered,
                "after_wiring": wired,
                "after_wiring_again": registries(),
            }
        )
    )


if __name__ == "__main__":
    main()
