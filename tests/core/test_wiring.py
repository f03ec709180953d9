"""The wiring step is explicit: importing registers nothing, ``wire()`` registers every job once, running it
again changes nothing, and the app, the CLI and the worker are all wired by it."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import emporium
from emporium import cli, install
from emporium.app import create_app
from emporium.core.config import Settings
from emporium.core.context import AppContext
from emporium.wiring import Wiring
from tests.core.processes import run

PROBE = Path(__file__).with_name("wiring_probe.py")
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
async def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What a fresh process's registries hold after importing everything, wiring, and wiring again."""
    env = dict(os.environ)
    # The same sources as this process, and the tests package for the probe's own imports.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(emporium.__file__).parents[1]), str(ROOT)])
    done = await run([sys.executable, str(PROBE)], env, tmp_path_factory.mktemp("probe"), limit_seconds=120)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_importing_every_module_registers_nothing(probe: dict[str, Any]) -> None:
    assert probe["modules"] > 100
    assert all(not registered for registered in probe["after_import"].values()), probe["after_import"]


def test_the_wiring_registers_every_job_the_code_names_exactly_once(probe: dict[str, Any]) -> None:
    installed = probe["jobs_installed"]
    assert [name for name, times in Counter(installed).items() if times > 1] == []
    assert sorted(installed) == probe["job_names_in_code"]
    assert list(probe["after_wiring"]["jobs"]) == installed
    assert set(probe["after_wiring"]["periodic"]) <= set(installed)
    wired = probe["after_wiring"]
    hooks = ("login_hooks", "exporters", "placed_hooks", "cancellation_hooks", "moved_hooks", "cache_watches")
    assert [kind for kind in hooks if not wired[kind]] == []
    # The erasers run in the order of the wiring: the mail queued for the customer goes first.
    assert [name for name, _ in wired["erasers"]] == ["notifications", "wishlists", "orders", "reviews"]


def test_wiring_again_changes_nothing(probe: dict[str, Any]) -> None:
    assert probe["after_wiring_again"] == probe["after_wiring"]


class _Wired(Exception):
    """Raised by the spy below: the command got as far as the wiring step, and stops there."""


def test_the_app_the_cli_and_the_worker_use_the_same_wiring(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    calls: list[str] = []

    def spy(_: Wiring | None = None) -> None:
        calls.append("wired")
        raise _Wired

    monkeypatch.setattr(install, "wire", spy)
    monkeypatch.setattr(cli, "get_settings", lambda: settings)
    monkeypatch.setattr("emporium.core.logging.configure_logging", lambda *_, **__: None)

    with pytest.raises(_Wired):
        create_app(settings)
    assert calls == ["wired"]
    with pytest.raises(_Wired):
        cli._context(settings)  # every command that opens the database: demo, import, export, create-admin
    assert calls == ["wired"] * 2
    for command in (["worker"], ["worker", "--once"]):
        result = CliRunner().invoke(cli.app, command)
        assert isinstance(result.exception, _Wired), result.output
    assert calls == ["wired"] * 4


async def test_a_context_handed_to_the_app_is_wired_too(
    ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(install, "wire", lambda *_: calls.append("wired"))
    create_app(ctx=ctx)
    assert calls == ["wired"]
