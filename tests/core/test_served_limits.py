"""Limits and lockouts hold across the worker processes of `emporium serve --workers 2` without Redis: they
are counted in the SQLite file the workers share. X-Forwarded-For from a client changes nothing."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from pathlib import Path

import httpx

from emporium.accounts.service import auth
from tests.conftest import MakeContext
from tests.core.processes import EMPORIUM, background, output_of, process_env, run
from tests.support import STRONG_PASSWORD, free_port

LOGIN = "/api/v1/auth/login"
_SERVED = re.compile(
    r'^emporium_http_requests_total\{method="GET",route="/metrics",status="200"\} (\S+)$', re.M
)


async def _request(method: str, url: str, **kwargs: object) -> httpx.Response:
    # A connection of its own per request, so the kernel hands requests to either worker.
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.request(method, url, **kwargs)  # type: ignore[arg-type]


async def _wait_for_two_workers(base: str, cwd: Path) -> None:
    """Until both workers have answered. Each counts the /metrics requests it served in its own registry,
    so one process gives 0, 1, 2, ... and a second one repeats a number."""
    served: list[int] = []
    for _ in range(600):
        try:
            found = _SERVED.search((await _request("GET", f"{base}/metrics")).text)
            served.append(int(float(found.group(1))) if found else 0)
        except httpx.TransportError:
            pass
        if len(set(served)) < len(served):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"a second worker never answered: {served}\n{output_of(cwd)}")


async def test_the_lockout_and_the_auth_limit_hold_across_two_workers_without_redis(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    ctx = make_committed_context()
    async with ctx.db.session() as session:
        await auth.create_user(
            session, ctx, email="ada@example.com", password=STRONG_PASSWORD, role="customer"
        )
    env = process_env(ctx.settings, EMPORIUM_AUTH_RATE_LIMIT="20/minute")
    assert "EMPORIUM_REDIS_URL" not in env
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    async with background([EMPORIUM, "serve", "--port", str(port), "--workers", "2"], env, tmp_path):
        await _wait_for_two_workers(base, tmp_path)
        wrong = {"email": "ada@example.com", "password": "not the password!"}
        # Ten guesses at once, spread over both workers, each claiming another client address.
        answers = await asyncio.gather(
            *(
                _request("POST", f"{base}{LOGIN}", json=wrong, headers={"X-Forwarded-For": f"198.51.100.{n}"})
                for n in range(10)
            )
        )
        codes = Counter(answer.json()["error"]["code"] for answer in answers)
        # At most the 5 allowed guesses were checked (one counted in the instant the lock is set is
        # refused too: accounts/service.py looks for the lock again after counting).
        assert set(codes) <= {"INVALID_CREDENTIALS", "TOO_MANY_ATTEMPTS"}, [a.text for a in answers]
        assert 1 <= codes["INVALID_CREDENTIALS"] <= 5, codes
        assert codes["TOO_MANY_ATTEMPTS"] >= 5, codes
        for _ in range(4):
            right = await _request("POST", f"{base}{LOGIN}", json={**wrong, "password": STRONG_PASSWORD})
            assert right.status_code == 429
            assert right.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
            assert int(right.headers["Retry-After"]) > 0

        # The per-address limit on /auth (20 a minute, 14 used) is one count for both workers too.
        answers = await asyncio.gather(
            *(
                _request(
                    "POST",
                    f"{base}/api/v1/auth/forgot-password",
                    json={"email": "ada@example.com"},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"},
                )
                for n in range(10)
            )
        )
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [202] * 6 + [429] * 4, [a.text for a in answers]
    # The counts lived in the file the workers share, in the data directory.
    assert (tmp_path / "var" / "emporium-limits.db").exists()


async def test_serving_several_workers_with_limits_counted_per_process_is_refused(
    make_committed_context: MakeContext, tmp_path: Path
) -> None:
    env = process_env(make_committed_context().settings, EMPORIUM_RATE_LIMIT_STORAGE="memory")
    done = await run([EMPORIUM, "serve", "--port", str(free_port()), "--workers", "2"], env, tmp_path)
    assert done.returncode == 2
    assert "--workers 2 needs rate limits and sign-in lockouts that every worker shares" in done.stderr
    assert "EMPORIUM_REDIS_URL" in done.stderr
