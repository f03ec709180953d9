"""The scaled-out shape's tests: a PostgreSQL primary, its streaming replica and PgBouncer of the test's own
(emporium/operations/pgcluster.py), never the shared server. Slow to start (seconds per cluster), so they
run only when asked: ``EMPORIUM_TOPOLOGY_TESTS=1 pytest tests/topology`` (a stage of .ci/run), and only
where the server's tools and PgBouncer are installed."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from emporium.core.migrations import upgrade_async
from emporium.operations.pgcluster import (
    SERVER_USER,
    PgTopology,
    pgbouncer_binary,
    server_tools,
    start_topology,
)

HERE = Path(__file__).parent
DATABASE = "emporium"


def _why_not() -> str | None:
    if os.environ.get("EMPORIUM_TOPOLOGY_TESTS") != "1":
        return "topology tests run with EMPORIUM_TOPOLOGY_TESTS=1"
    tools = server_tools()
    if tools is None or not (tools / "pg_basebackup").exists():
        return "PostgreSQL's server tools (initdb, pg_ctl, pg_basebackup) are not installed"
    if pgbouncer_binary() is None:
        return "pgbouncer is not installed"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _why_not()
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.topology)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def topology_root() -> Iterator[Path]:
    # Its own directory, which the postgres user can reach when the tests run as root (pytest's cannot).
    root = Path(tempfile.mkdtemp(prefix="emporium-topology-"))
    if os.geteuid() == 0:
        shutil.chown(root, SERVER_USER)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def topology(topology_root: Path) -> AsyncIterator[PgTopology]:
    """Primary, replica and PgBouncer, the shop's schema migrated on the primary's direct connection (and so
    on the replica); stopped when the test ends, however it ends."""
    started = start_topology(topology_root, [DATABASE])
    try:
        await upgrade_async(started.primary.url(DATABASE))
        yield started
    finally:
        started.stop()


# The whole shape (nginx, app processes, workers, PgBouncer, PostgreSQL, Redis), one per session:
# tests/topology/cluster_fixture.py.
from tests.topology.cluster_fixture import cluster  # noqa: E402, F401
