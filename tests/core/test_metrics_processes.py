"""/metrics sums every process that shares EMPORIUM_METRICS_DIR: real `emporium serve` processes on loopback,
each answering requests, and one scrape, answered by any of them, that counts them all."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
import uvicorn

from emporium.cli import uvicorn_options
from emporium.notifications.service import notifications
from emporium.settings import AppSettings
from tests.conftest import MakeContext
from tests.core.processes import EMPORIUM, background, output_of, process_env, run_worker_once
from tests.support import free_port

_HEALTH_SERVED = re.compile(
    r'^emporium_http_requests_total\{method="GET",route="/health",status="200"\} (\S+)$', re.M
)
WELCOME = {"shop_name": "Emporium", "first_name": "Bea"}
_JOB_RUNS = re.compile(r"^emporium_jobs_total\{[^}]*\} (\S+)$", re.M)
# A process id no system hands out (Linux's pid_max is at most 2**22).
DEAD_PID = 999_999_999


async def _get(url: str) -> httpx.Response:
    # A connection of its own per request, so the kernel hands requests to either worker.
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(url)


async def _wait_until_up(base: str, cwd: Path) -> None:
    for _ in range(300):
        try:
            if (await _get(f"{base}/health/ready")).status_code in (200, 503):
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{base} never answered\n{output_of(cwd)}")


def _writers(directory: Path) -> set[int]:
    """The processes that have counted a request: each writes ``counter_<pid>.db``."""
    return {int(file.stem.removeprefix("counter_")) for file in directory.glob("counter_*.db")}


async def _health_served(base: str) -> int:
    found = _HEALTH_SERVED.search((await _get(f"{base}/metrics")).text)
    return int(float(found.group(1))) if found else 0


async def _jobs_run(base: str) -> int:
    text = (await _get(f"{base}/metrics")).text
    return sum(int(float(count)) for count in _JOB_RUNS.findall(text))


async def test_metrics_sum_the_requests_answered_by_both_workers_of_one_serve(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    # Left by a process that is gone: the first process to start empties the directory.
    stale = metrics_dir / f"counter_{DEAD_PID}.db"
    stale.write_bytes(b"left over")
    env = process_env(make_committed_context().settings, EMPORIUM_METRICS_DIR=str(metrics_dir))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with background([EMPORIUM, "serve", "--port", str(port), "--workers", "2"], env, tmp_path):
        await _wait_until_up(base, tmp_path)
        assert not stale.exists()
        answered = 0
        for _ in range(400):  # until both workers have answered some
            answered += (await _get(f"{base}/health")).status_code == 200
            if len(_writers(metrics_dir)) >= 2 and answered >= 10:
                break
        workers = _writers(metrics_dir)
        assert len(workers) == 2, (workers, output_of(tmp_path))
        # Each scrape, whichever worker takes it, counts the requests of both.
        for _ in range(4):
            assert await _health_served(base) == answered


async def test_a_second_serve_and_a_worker_keep_the_first_ones_counts_and_add_their_own(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    metrics_dir = tmp_path / "metrics"
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        notifications.queue_email(session, to="metrics@example.com", template="welcome", context=WELCOME)
    env = process_env(ctx.settings, EMPORIUM_METRICS_DIR=str(metrics_dir))
    first_port, second_port = free_port(), free_port()
    first, second = f"http://127.0.0.1:{first_port}", f"http://127.0.0.1:{second_port}"
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    async with background([EMPORIUM, "serve", "--port", str(first_port)], env, tmp_path / "first"):
        await _wait_until_up(first, tmp_path / "first")
        for _ in range(3):
            assert (await _get(f"{first}/health")).status_code == 200
        # Started while the first one runs: it must not empty the directory.
        async with background([EMPORIUM, "serve", "--port", str(second_port)], env, tmp_path / "second"):
            await _wait_until_up(second, tmp_path / "second")
            for _ in range(5):
                assert (await _get(f"{second}/health")).status_code == 200
            assert len(_writers(metrics_dir)) == 2
            assert await _health_served(first) == 8
            assert await _health_served(second) == 8
        # A worker's job runs join them too (the served processes run no jobs: EMPORIUM_JOBS_RUN_IN_PROCESS
        # is false), and stay counted after it exits.
        ran = await run_worker_once(env, tmp_path)
        assert ran >= 1
        assert await _jobs_run(first) == ran
    # All ended: their counts stay until a process starts again with no one else alive.
    assert len(_writers(metrics_dir)) == 3


def test_the_health_check_timeout_setting_reaches_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMPORIUM_SERVE_HEALTHCHECK_TIMEOUT_SECONDS", raising=False)
    defaults = AppSettings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("EMPORIUM_SERVE_HEALTHCHECK_TIMEOUT_SECONDS", "47")
    configured = AppSettings(_env_file=None)  # type: ignore[call-arg]
    for settings, expected in ((defaults, 30), (configured, 47)):
        options = uvicorn_options(settings, host="127.0.0.1", port=8000, workers=2, reload=False)
        # The same keywords `emporium serve` hands to uvicorn.run, which builds this Config from them.
        assert uvicorn.Config(**options).timeout_worker_healthcheck == expected
