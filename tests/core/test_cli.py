"""The `emporium` command: setup on a fresh shop, safe to run again, and every command's help."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from emporium.app import create_app
from emporium.cli import app as cli
from emporium.core.context import build_context
from emporium.core.db import Base, create_engine
from emporium.demo.service import DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD
from emporium.notifications.vapid import public_key_for
from emporium.settings import get_settings
from tests.conftest import make_settings, sign_up
from tests.core.processes import EMPORIUM, run
from tests.support import STRONG_PASSWORD, asgi_client, bearer, data, error


async def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            tables: dict[str, list[tuple[Any, ...]]] = {}
            for table in Base.metadata.sorted_tables:
                rows = (await conn.execute(table.select())).all()
                tables[table.name] = sorted((tuple(r) for r in rows), key=repr)
            return tables
    finally:
        await engine.dispose()


async def test_setup_creates_a_shop_and_running_it_again_keeps_every_row(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'shop.db'}"
    env = {
        "PATH": "/usr/bin:/bin",
        "EMPORIUM_DATABASE_URL": url,
        "EMPORIUM_ARGON2_MEMORY_COST_KIB": "256",
        "EMPORIUM_ARGON2_TIME_COST": "1",
        "EMPORIUM_ARGON2_PARALLELISM": "1",
        "EMPORIUM_LOG_LEVEL": "WARNING",
        # The source under test when it is not the installed one (a checkout beside the installed package).
        **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},
    }
    first = await run([EMPORIUM, "setup"], env, tmp_path, limit_seconds=90)
    assert first.returncode == 0, first.stdout + first.stderr
    email = re.search(r"^Admin e-mail:\s+(\S+)$", first.stdout, re.MULTILINE)
    password = re.search(r"^Admin password:\s+(\S+)$", first.stdout, re.MULTILINE)
    assert email, first.stdout
    assert password, first.stdout
    assert email.group(1) == "admin@emporium.localhost"
    assert len(password.group(1)) >= 12
    # The web push key pair, made once and kept beside the settings (the .env file they read).
    env_text = (tmp_path / ".env").read_text()
    private = re.search(r"^EMPORIUM_VAPID_PRIVATE_KEY=(\S+)$", env_text, re.MULTILINE)
    public = re.search(r"^EMPORIUM_VAPID_PUBLIC_KEY=(\S+)$", env_text, re.MULTILINE)
    assert private, env_text
    assert public, env_text
    assert public_key_for(private.group(1)) == public.group(1)
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0

    before = await snapshot(url)
    assert len(before["users"]) == 6  # the demo customer, the four demo reviewers and the admin
    assert before["applied_seeds"]

    settings = make_settings(url, None)
    ctx = build_context(settings)
    try:
        async with asgi_client(create_app(ctx=ctx)) as http:
            login = data(
                await http.post(
                    "/api/v1/auth/login", json={"email": email.group(1), "password": password.group(1)}
                )
            )
            assert login["user"]["role"] == "super_admin"
            assert "mailbox:read" in login["user"]["permissions"]
            demo = await http.post(
                "/api/v1/auth/login", json={"email": DEMO_CUSTOMER_EMAIL, "password": DEMO_CUSTOMER_PASSWORD}
            )
            assert data(demo)["user"]["role"] == "customer"
    finally:
        await ctx.close()

    before = await snapshot(url)  # with the sign-in sessions
    second = await run([EMPORIUM, "setup"], env, tmp_path, limit_seconds=90)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"Admin e-mail:    {email.group(1)}" in second.stdout
    assert password.group(1) not in second.stdout
    assert "unchanged" in second.stdout
    assert "already loaded" in second.stdout
    assert "Web push keys: unchanged." in second.stdout
    assert (tmp_path / ".env").read_text() == env_text
    assert await snapshot(url) == before


async def test_migrate_command_builds_the_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    done = await run([EMPORIUM, "migrate"], {"PATH": "/usr/bin:/bin", "EMPORIUM_DATABASE_URL": url}, tmp_path)
    assert done.returncode == 0, done.stderr
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    finally:
        await engine.dispose()
    assert version


def invoke(args: list[str], env: dict[str, str]) -> Result:
    """The command in this process (settings are re-read from ``env``)."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, args, env=env)
    finally:
        get_settings.cache_clear()


async def test_create_admin_never_passes_off_a_customer_as_the_admin(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}"
    squatter = "owner@example.com"
    env = {
        "EMPORIUM_DATABASE_URL": url,
        "EMPORIUM_ARGON2_MEMORY_COST_KIB": "256",
        "EMPORIUM_ADMIN_EMAIL": squatter,
    }
    assert (await asyncio.to_thread(invoke, ["migrate"], env)).exit_code == 0

    ctx = build_context(make_settings(url, None))
    try:
        async with asgi_client(create_app(ctx=ctx)) as http:
            await sign_up(http, squatter)
            tokens = data(
                await http.post("/api/v1/auth/login", json={"email": squatter, "password": STRONG_PASSWORD})
            )
            assert tokens["user"]["role"] == "customer"

            refused = await asyncio.to_thread(invoke, ["create-admin"], env)
            assert refused.exit_code == 1
            assert "not an active super admin" in refused.output
            assert "Admin password" not in refused.output
            profile = await http.get("/api/v1/users/profile", headers=bearer(tokens["access_token"]))
            assert data(profile)["role"] == "customer"

            weak = await asyncio.to_thread(invoke, ["create-admin", "--password", "short"], env)
            assert weak.exit_code != 0
            assert "admin password refused" in weak.output

            reset = await asyncio.to_thread(invoke, ["create-admin", "--reset"], env)
            assert reset.exit_code == 0, reset.output
            found = re.search(r"^Admin password:\s+(\S+)$", reset.output, re.MULTILINE)
            assert found, reset.output
            # The account's old sessions end with the promotion.
            stale = await http.get("/api/v1/users/profile", headers=bearer(tokens["access_token"]))
            assert stale.status_code == 401
            error(
                await http.post("/api/v1/auth/login", json={"email": squatter, "password": STRONG_PASSWORD}),
                401,
            )
            admin = data(
                await http.post("/api/v1/auth/login", json={"email": squatter, "password": found.group(1)})
            )
            assert admin["user"]["role"] == "super_admin"
    finally:
        await ctx.close()


@pytest.mark.parametrize(
    "command", ["serve", "migrate", "demo", "create-admin", "worker", "setup", "backup", "restore"]
)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


async def test_the_console_script_lists_its_commands(tmp_path: Path) -> None:
    done = await run([EMPORIUM, "--help"], {"PATH": "/usr/bin:/bin"}, tmp_path)
    assert done.returncode == 0, done.stderr
    for command in ("serve", "migrate", "demo", "create-admin", "worker", "setup"):
        assert command in done.stdout
