"""The topology tests (tests/topology/) start the scaled-out shape for real: PostgreSQL, PgBouncer, Redis,
app processes, workers and nginx on this machine. They take minutes, so they run only when asked:
EMPORIUM_TOPOLOGY_TESTS=1 (``python3 make.py test-topology``, a stage of .ci/run of its own)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).parent
ENABLED = os.environ.get("EMPORIUM_TOPOLOGY_TESTS") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(
        reason="topology tests run with EMPORIUM_TOPOLOGY_TESTS=1 (make.py test-topology)"
    )
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.topology)
            if not ENABLED:
                item.add_marker(skip)


# The shop of the topology tests, one per session (tests/topology/cluster_fixture.py).
from tests.topology.cluster_fixture import cluster  # noqa: E402, F401
