"""The rule of the rooms (DESIGN.md "Layout and habits"), checked on the source itself.

Each test reads every module under ``src/emporium`` with :mod:`ast` (nothing is imported, so the check
takes about a second and needs no dependency) and reports each break as ``path:line: what``.

The parts of the tree and how each is treated:

- a *domain* is a package directly under ``emporium`` (accounts, cart, catalog, ...); its sub-packages
  belong to it (``catalog.search`` is catalog, ``payments.gateways.bitcoin`` is payments);
- *pages* are the storefront (``web/``) and the back office (``admin/``); *routes* are the ``api.py`` and
  ``pages.py`` modules of any domain, sub-packages included; the *CLI* is ``cli.py`` and ``app.py``;
- ``core/`` is the infrastructure every layer stands on. It holds SQL of its own (the job outbox, the
  idempotency keys, the session, the direct asyncpg reads), so the SQL rule does not apply to it, but it
  may import no domain and nothing above one;
- ``demo/`` is a data loader, not a domain: it fills a fresh shop with a few thousand rows of several
  domains in bulk statements, as a migration with data would, and no request ever runs it. It may
  therefore use any domain's models and repositories and hold SQL; no domain, page or route may import it;
- ``migrations/`` and the top-level modules that wire everything together (``app.py``, ``cli.py``,
  ``install.py``, ``route_limits.py``, ``models.py``) sit on top and may import anything, except that
  the CLI, like a page, goes through services rather than repositories;
- the wiring step: ``wiring.py`` (the registration surface: jobs, periodic jobs, hooks, cache watches)
  and each domain's ``install.py`` (what that domain registers there) sit above the domains and below the
  top; only the top imports an install module;
- ``settings.py`` composes the app's settings from core's and the domains' parts: above the domains, read
  by pages, the wiring and the top.

Imports under ``if TYPE_CHECKING:`` never run, so they are allowed where only type hints need a name
(another domain's model in a page's signature) and do not count for import cycles. They still count for
the repository rules: a page has no business naming a repository at all. An enum or a constant of another
domain that a page or route needs at run time (``OrderStatus``, ``MAX_LINE_QUANTITY``) is imported from
that domain's ``schemas.py``, which re-exports it from its models.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "emporium"
# Packages directly under emporium that are not domains (see the module docstring).
NOT_DOMAINS = frozenset({"core", "web", "admin", "demo", "migrations", "templates"})
PAGES = frozenset({"web", "admin"})
ROUTE_MODULES = frozenset({"api", "pages"})
CLI = frozenset({f"{ROOT}.cli", f"{ROOT}.app"})
WIRING = f"{ROOT}.wiring"
SETTINGS = f"{ROOT}.settings"
# SQLAlchemy names that build a statement: outside repositories a module has no use for them.
SQL_BUILDERS = frozenset(
    {
        "select",
        "insert",
        "update",
        "delete",
        "text",
        "func",
        "and_",
        "or_",
        "not_",
        "case",
        "exists",
        "literal",
        "literal_column",
        "union",
        "union_all",
        "intersect",
        "except_",
        "tuple_",
        "bindparam",
        "cast",
        "distinct",
        "column",
        "table",
        "values",
        "lateral",
        "aliased",
        "selectinload",
        "joinedload",
        "subqueryload",
        "contains_eager",
        "load_only",
    }
)
SESSION_STATEMENTS = frozenset({"execute", "scalar", "scalars", "stream", "stream_scalars"})

# Breaks allowed by name, each with its reason; nothing else may be listed here. For rule (d) a listed
# file's imports do not count as an edge between two domains.
ALLOWED: dict[str, frozenset[str]] = {
    # The availability rule is one function and the SQL expression built the same way; the expression sits
    # next to the function so that the two cannot drift (tests/inventory/test_availability.py).
    "e": frozenset({"src/emporium/inventory/availability.py"}),
}


@dataclass(frozen=True)
class Import:
    line: int
    target: str  # the dotted module imported (``emporium.catalog.repository``), or a name in it
    type_checking: bool


@dataclass(frozen=True)
class Module:
    name: str  # emporium.catalog.search.api
    path: str  # src/emporium/catalog/search/api.py, for messages
    tree: ast.Module
    is_package: bool

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))


@dataclass(frozen=True)
class Break:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


# -- reading the tree ---------------------------------------------------------------------------------


def module_from_source(
    name: str, source: str, *, path: str | None = None, is_package: bool = False
) -> Module:
    return Module(name, path or name.replace(".", "/") + ".py", ast.parse(source), is_package)


@cache
def project() -> tuple[Module, ...]:
    modules = []
    for file in sorted((SRC / ROOT).rglob("*.py")):
        relative = file.relative_to(SRC)
        is_package = file.name == "__init__.py"
        parts = relative.parent.parts if is_package else relative.with_suffix("").parts
        path = str(Path("src") / relative)
        modules.append(
            module_from_source(".".join(parts), file.read_text(), path=path, is_package=is_package)
        )
    return tuple(modules)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(body: Iterable[ast.stmt], type_checking: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under ``body``, with whether it sits in an ``if TYPE_CHECKING:`` block."""
    for statement in body:
        if isinstance(statement, ast.If) and _is_type_checking(statement.test):
            yield statement, type_checking
            yield from _walk(statement.body, True)
            yield from _walk(statement.orelse, type_checking)
            continue
        yield statement, type_checking
        for child in ast.iter_child_nodes(statement):
            if isinstance(child, ast.stmt):
                yield from _walk([child], type_checking)
            else:
                for node in ast.walk(child):
                    yield node, type_checking


@cache
def imports_of(module: Module, known: frozenset[str]) -> list[Import]:
    """The emporium modules ``module`` imports; ``from a import b`` means module ``a.b`` when it is one."""
    found = []
    for node, type_checking in _walk(module.tree.body, False):
        if isinstance(node, ast.Import):
            found += [Import(node.lineno, alias.name, type_checking) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.parts if module.is_package else module.parts[:-1]
                anchor = package[: len(package) - node.level + 1]
                base = ".".join((*anchor, base)) if base else ".".join(anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.append(Import(node.lineno, submodule if submodule in known else base, type_checking))
    # One line may import several names of one module: one import.
    unique = dict.fromkeys(i for i in found if i.target == ROOT or i.target.startswith(ROOT + "."))
    return list(unique)


def _names(modules: Iterable[Module]) -> frozenset[str]:
    return frozenset(m.name for m in modules)


# -- what a module is ---------------------------------------------------------------------------------


@cache
def domain_of(name: str) -> str | None:
    parts = name.split(".")
    if len(parts) < 2 or parts[1] in NOT_DOMAINS:
        return None
    package = SRC.joinpath(*parts[:2])
    return parts[1] if (package / "__init__.py").exists() or len(parts) > 2 else None


def is_repository(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return last == "repository" or last.endswith("_repository")


def is_models(name: str) -> bool:
    return name.rsplit(".", 1)[-1] == "models"


def is_page(name: str) -> bool:
    parts = name.split(".")
    return len(parts) > 1 and parts[1] in PAGES


def is_route(name: str) -> bool:
    return domain_of(name) is not None and name.rsplit(".", 1)[-1] in ROUTE_MODULES


def kind_of(name: str) -> str | None:
    """What rule (a) calls a module that must go through services, or None."""
    if is_page(name):
        return "page"
    if is_route(name):
        return "route"
    if name in CLI:
        return "CLI"
    if name.rsplit(".", 1)[-1] == "tasks":
        return "task"
    return None


def layer_of(name: str) -> str:
    parts = name.split(".")
    if len(parts) < 2:
        return "top"
    if parts[1] == "core":
        return "core"
    if parts[1] in PAGES:
        return "pages"
    if parts[1] == "demo":
        return "loader"
    if name == WIRING or (parts[-1] == "install" and domain_of(name) is not None):
        return "wiring"
    if name == SETTINGS:
        return "settings"
    if domain_of(name) is not None:
        return "domain"
    return "top"  # app, cli, install, route_limits, models, migrations


# What each layer may not import (rule c).
# The app's settings (emporium/settings.py) are composed from core's and the domains' parts, so they stand
# above the domains: pages and the top may read them, core and the domains read their own part only.
# A domain's install.py is its plug into the wiring step: it names the domain's jobs and hooks to the
# registration surface (emporium/wiring.py), which stands above the domains whose hooks it knows. Nothing
# but the wiring step imports an install module.
FORBIDDEN_LAYERS = {
    "core": frozenset({"domain", "settings", "wiring", "pages", "loader", "top"}),
    "domain": frozenset({"settings", "wiring", "pages", "loader", "top"}),
    "settings": frozenset({"wiring", "pages", "loader", "top"}),
    "wiring": frozenset({"pages", "loader", "top"}),
    "loader": frozenset({"wiring", "pages", "top"}),
    "pages": frozenset({"wiring", "loader", "top"}),
    "top": frozenset(),
}


# -- the rules ----------------------------------------------------------------------------------------


def repository_imports(modules: Iterable[Module], known: frozenset[str]) -> list[Break]:
    """(a) Pages, routes, the CLI and tasks never import a repository."""
    breaks = []
    for module in modules:
        kind = kind_of(module.name)
        if kind is None:
            continue
        for imported in imports_of(module, known):
            if is_repository(imported.target):
                breaks.append(Break(module.path, imported.line, f"{kind} imports {imported.target}"))
    return breaks


def foreign_repository_imports(modules: Iterable[Module], known: frozenset[str]) -> list[Break]:
    """(b) A domain never imports another domain's repository."""
    breaks = []
    for module in modules:
        own = domain_of(module.name)
        if own is None:
            continue
        for imported in imports_of(module, known):
            other = domain_of(imported.target)
            if is_repository(imported.target) and other is not None and other != own:
                what = f"domain {own} imports {other}'s repository {imported.target}"
                breaks.append(Break(module.path, imported.line, what))
    return breaks


def layer_imports(modules: Iterable[Module], known: frozenset[str]) -> list[Break]:
    """(c) A lower layer never imports a higher one: core < domains < settings < wiring < demo, pages <
    app and CLI."""
    breaks = []
    for module in modules:
        layer = layer_of(module.name)
        for imported in imports_of(module, known):
            above = layer_of(imported.target)
            if above in FORBIDDEN_LAYERS[layer]:
                what = f"{layer} module imports {above} module {imported.target}"
                breaks.append(Break(module.path, imported.line, what))
    return breaks


def domain_cycles(
    modules: Iterable[Module], known: frozenset[str], *, not_counted: frozenset[str] = frozenset()
) -> list[Break]:
    """(d) No two domains import each other (at run time): one pair, one break, naming both imports. The
    imports of the files in ``not_counted`` are left out."""
    first: dict[tuple[str, str], tuple[Module, Import]] = {}
    for module in modules:
        own = domain_of(module.name)
        if own is None or module.path in not_counted:
            continue
        for imported in imports_of(module, known):
            other = domain_of(imported.target)
            if other is not None and other != own and not imported.type_checking:
                first.setdefault((own, other), (module, imported))
    breaks = []
    for (a, b), (module, imported) in sorted(first.items()):
        if a < b and (b, a) in first:
            back_module, back = first[(b, a)]
            what = (
                f"domains {a} and {b} import each other: {imported.target} here, "
                f"and {back_module.path}:{back.line} imports {back.target}"
            )
            breaks.append(Break(module.path, imported.line, what))
    return breaks


def _sql_exempt(name: str) -> bool:
    parts = name.split(".")
    return (
        is_repository(name)
        or is_models(name)
        or (len(parts) > 1 and parts[1] in {"core", "migrations", "demo"})
    )


def _receiver_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def sql_outside_repositories(modules: Iterable[Module]) -> list[Break]:
    """(e) SQL lives in repositories: elsewhere, no statement builder and no statement run on a session."""
    breaks = []
    for module in modules:
        if _sql_exempt(module.name):
            continue
        sqlalchemy_aliases = set()
        for node, _ in _walk(module.tree.body, False):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
                builders = sorted(a.name for a in node.names if a.name in SQL_BUILDERS)
                if builders:
                    what = f"imports SQL builders {', '.join(builders)} from {node.module}"
                    breaks.append(Break(module.path, node.lineno, what))
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "sqlalchemy":
                        sqlalchemy_aliases.add(alias.asname or "sqlalchemy")
            elif (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in sqlalchemy_aliases
                and node.attr in SQL_BUILDERS
            ):
                breaks.append(Break(module.path, node.lineno, f"builds SQL with {node.value.id}.{node.attr}"))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_STATEMENTS
            ):
                receiver = _receiver_name(node.func.value)
                if "session" in receiver.lower() or receiver in {"conn", "connection"}:
                    what = f"runs a statement: {receiver}.{node.func.attr}(...)"
                    breaks.append(Break(module.path, node.lineno, what))
    return breaks


def foreign_models_in_pages(modules: Iterable[Module], known: frozenset[str]) -> list[Break]:
    """(f) Pages and routes never import another domain's models at run time (type hints may)."""
    breaks = []
    for module in modules:
        kind = kind_of(module.name)
        if kind not in {"page", "route"}:
            continue
        own = domain_of(module.name)
        for imported in imports_of(module, known):
            other = domain_of(imported.target)
            if (
                not imported.type_checking
                and is_models(imported.target)
                and other is not None
                and other != own
            ):
                breaks.append(
                    Break(module.path, imported.line, f"{kind} imports {imported.target} at run time")
                )
    return breaks


# -- the tests ----------------------------------------------------------------------------------------


def _unallowed(rule: str, breaks: list[Break]) -> list[str]:
    allowed = ALLOWED.get(rule, frozenset())
    return [str(b) for b in breaks if b.path not in allowed]


def _check(rule: str, breaks: list[Break], advice: str) -> None:
    left = _unallowed(rule, breaks)
    assert not left, f"{advice}\n  " + "\n  ".join(left)


def test_pages_routes_cli_and_tasks_import_no_repository() -> None:
    modules = project()
    _check(
        "a",
        repository_imports(modules, _names(modules)),
        "Pages, routes, the CLI and tasks call a service method, never a repository:",
    )


def test_a_domain_imports_no_other_domains_repository() -> None:
    modules = project()
    _check(
        "b",
        foreign_repository_imports(modules, _names(modules)),
        "A domain reaches another through that domain's service, never its repository:",
    )


def test_no_layer_imports_a_higher_one() -> None:
    modules = project()
    _check(
        "c",
        layer_imports(modules, _names(modules)),
        "core < domains < settings < wiring < demo and pages (web, admin) < app and CLI; nothing imports up:",
    )


def test_no_two_domains_import_each_other() -> None:
    modules = project()
    _check(
        "d",
        domain_cycles(modules, _names(modules), not_counted=ALLOWED.get("d", frozenset())),
        "Two domains import each other; pass a hook or move the shared rule down:",
    )


def test_sql_lives_in_repositories() -> None:
    _check(
        "e",
        sql_outside_repositories(project()),
        "SQL belongs in a repository module (repository.py or *_repository.py):",
    )


def test_pages_and_routes_import_no_other_domains_models() -> None:
    modules = project()
    _check(
        "f",
        foreign_models_in_pages(modules, _names(modules)),
        "Pages and routes get other domains' objects from services, their enums and constants from their "
        "schemas (models only under TYPE_CHECKING):",
    )


def test_allow_list_names_existing_files() -> None:
    paths = {m.path for m in project()}
    stale = sorted(p for allowed in ALLOWED.values() for p in allowed if p not in paths)
    assert not stale, f"allow-listed files that no longer exist: {stale}"


# -- the checker can fail -----------------------------------------------------------------------------

_PLANTED_PAGE = """
from typing import TYPE_CHECKING

from emporium.catalog.repository import CatalogRepository
from emporium.cart import repository
from emporium.app import create_app
from emporium.orders.models import Order

if TYPE_CHECKING:
    from emporium.catalog.models import Product
"""


def _planted(*modules: Module) -> tuple[tuple[Module, ...], frozenset[str]]:
    everything = (*project(), *modules)
    return modules, _names(everything)


def test_the_checker_reports_a_page_importing_repositories_models_and_the_app() -> None:
    page = module_from_source("emporium.web.planted", _PLANTED_PAGE)
    modules, known = _planted(page)
    assert [str(b) for b in repository_imports(modules, known)] == [
        "emporium/web/planted.py:4: page imports emporium.catalog.repository",
        "emporium/web/planted.py:5: page imports emporium.cart.repository",
    ]
    assert [str(b) for b in layer_imports(modules, known)] == [
        "emporium/web/planted.py:6: pages module imports top module emporium.app"
    ]
    # The model under TYPE_CHECKING is a type hint and passes; the one imported at run time does not.
    assert [str(b) for b in foreign_models_in_pages(modules, known)] == [
        "emporium/web/planted.py:7: page imports emporium.orders.models at run time"
    ]


def test_the_checker_reports_a_route_in_a_sub_package_and_a_task() -> None:
    route = module_from_source(
        "emporium.payments.gateways.planted.api",
        "def handler() -> None:\n    from emporium.payments.repository import PaymentRepository\n",
    )
    task = module_from_source("emporium.orders.tasks_planted.tasks", "from ..repository import X\n")
    modules, known = _planted(route, task)
    assert [str(b) for b in repository_imports(modules, known)] == [
        "emporium/payments/gateways/planted/api.py:2: route imports emporium.payments.repository",
        "emporium/orders/tasks_planted/tasks.py:1: task imports emporium.orders.repository",
    ]


def test_the_checker_reports_a_foreign_repository_and_a_cycle() -> None:
    search = module_from_source(
        "emporium.catalog.search.planted",
        "from emporium.orders.repository import OrderRepository\nfrom emporium.catalog.repository import R\n",
    )
    orders = module_from_source("emporium.orders.planted", "import emporium.catalog.service\n")
    modules, known = _planted(search, orders)
    assert [str(b) for b in foreign_repository_imports(modules, known)] == [
        "emporium/catalog/search/planted.py:1: domain catalog imports orders's repository "
        "emporium.orders.repository"
    ]
    assert [str(b) for b in domain_cycles(modules, known)] == [
        "emporium/catalog/search/planted.py:1: domains catalog and orders import each other: "
        "emporium.orders.repository here, and emporium/orders/planted.py:1 imports emporium.catalog.service"
    ]


def test_a_cycle_through_type_checking_does_not_count() -> None:
    a = module_from_source(
        "emporium.catalog.planted",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from emporium.orders.models import Order\n",
    )
    b = module_from_source("emporium.orders.planted", "from emporium.catalog.service import catalog\n")
    modules, known = _planted(a, b)
    assert domain_cycles(modules, known) == []


def test_the_checker_reports_core_importing_a_domain_and_a_domain_importing_the_web() -> None:
    core = module_from_source("emporium.core.planted", "from emporium.orders.service import orders\n")
    domain = module_from_source("emporium.pricing.planted", "from emporium.web.page import render\n")
    modules, known = _planted(core, domain)
    assert [str(b) for b in layer_imports(modules, known)] == [
        "emporium/core/planted.py:1: core module imports domain module emporium.orders.service",
        "emporium/pricing/planted.py:1: domain module imports pages module emporium.web.page",
    ]


def test_the_checker_reports_sql_outside_a_repository() -> None:
    source = (
        "import sqlalchemy as sa\n"
        "from sqlalchemy import func, select\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "async def count(session: AsyncSession) -> int:\n"
        "    return await session.scalar(select(func.count()))\n"
        "def where() -> object:\n"
        "    return sa.text('1')\n"
    )
    service = module_from_source("emporium.pricing.planted_service", source)
    repository = module_from_source("emporium.pricing.planted_repository", source)
    assert [str(b) for b in sql_outside_repositories([service, repository])] == [
        "emporium/pricing/planted_service.py:2: imports SQL builders func, select from sqlalchemy",
        "emporium/pricing/planted_service.py:5: runs a statement: session.scalar(...)",
        "emporium/pricing/planted_service.py:7: builds SQL with sa.text",
    ]
