"""The production templates in deploy/ are the files `emporium cluster up` renders: nginx accepts the rendered
configuration, compose.yaml describes the same services with the same commands, and its nginx site is the
template's rendering (not a copy that drifts)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from emporium.operations.cluster import app_services, infrastructure
from emporium.operations.cluster_files import (
    ClusterPlan,
    deploy_dir,
    process_environment,
    render_all,
    render_compose_site,
)

DEPLOY = deploy_dir()


def _plan(tmp_path: Path) -> ClusterPlan:
    return ClusterPlan(state_dir=tmp_path, apps=3, workers=2, base_port=7400)


def test_the_rendered_nginx_configuration_is_accepted_by_nginx(tmp_path: Path) -> None:
    nginx = shutil.which("nginx")
    if nginx is None:
        pytest.skip("nginx is not installed (apt-get install nginx)")
    plan = _plan(tmp_path)
    (tmp_path / "nginx" / "tmp").mkdir(parents=True)
    (tmp_path / "nginx" / "cache").mkdir()
    render_all(plan)
    site = (tmp_path / "nginx" / "emporium.conf").read_text()
    for port in (7410, 7411, 7412):
        assert f"server 127.0.0.1:{port} " in site
    # Idempotent requests only are passed on to another process: no "non_idempotent".
    assert "proxy_next_upstream error timeout http_502;" in site
    directives = [line.strip() for line in site.splitlines() if not line.strip().startswith("#")]
    assert not [line for line in directives if "non_idempotent" in line]
    checked = subprocess.run(
        [nginx, "-t", "-c", str(tmp_path / "nginx" / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_pgbouncer_configuration_pools_by_transaction(tmp_path: Path) -> None:
    render_all(_plan(tmp_path))
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "pgbouncer" / "pgbouncer.ini")
    assert ini["pgbouncer"]["pool_mode"] == "transaction"
    assert ini["pgbouncer"]["listen_port"] == "7402"
    assert ini["databases"]["emporium"] == "host=127.0.0.1 port=7401 dbname=emporium"
    assert "jit" in ini["pgbouncer"]["ignore_startup_parameters"]


def test_compose_describes_the_services_the_cluster_starts() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "pgbouncer", "redis", "migrate", "app", "worker", "nginx"}
    plan = ClusterPlan(state_dir=Path("/nonexistent"))
    started = {service.name.split("-")[0]: service.command for service in app_services(plan, {})}
    # The same commands, minus the executable's path and the address each one listens on.
    assert services["app"]["command"][:2] == ["emporium", *started["app"][1:2]]
    assert services["worker"]["command"] == ["emporium", *started["worker"][1:]]
    assert services["migrate"]["command"] == ["emporium", "migrate"]
    assert services["worker"]["deploy"]["replicas"] == plan.workers
    assert services["pgbouncer"]["environment"]["POOL_MODE"] == "transaction"
    names = {service.name for service in infrastructure(plan)}
    assert names <= set(services)
    # The app goes through PgBouncer; the migrations to PostgreSQL itself.
    assert "@pgbouncer:6432/" in services["app"]["environment"]["EMPORIUM_DATABASE_URL"]
    assert "@postgres:5432/" in services["migrate"]["environment"]["EMPORIUM_DATABASE_URL"]


def test_the_compose_nginx_site_is_the_template_rendered() -> None:
    assert (DEPLOY / "compose" / "nginx.conf").read_text() == render_compose_site()


def test_the_systemd_units_run_the_cluster_commands() -> None:
    units = DEPLOY / "systemd"
    web = configparser.ConfigParser(interpolation=None, strict=False)
    web.read(units / "emporium-web@.service")
    assert web["Service"]["ExecStart"].split()[1:3] == ["serve", "--host"]
    assert web["Service"]["Restart"] == "always"
    worker = configparser.ConfigParser(interpolation=None, strict=False)
    worker.read(units / "emporium-worker@.service")
    assert worker["Service"]["ExecStart"].split()[1] == "worker"
    assert worker["Service"]["Restart"] == "always"
    assert (units / "emporium.target").exists()


def test_a_replica_gets_its_own_pgbouncer_entry_and_the_app_processes_read_it(tmp_path: Path) -> None:
    plan = ClusterPlan(state_dir=tmp_path, base_port=7400, replica=True)
    render_all(plan)
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "pgbouncer" / "pgbouncer.ini")
    assert ini["databases"]["emporium_replica"] == "host=127.0.0.1 port=7404 dbname=emporium"
    # A request fails in seconds while a server is down, and the pool finds it again a second after.
    assert ini["pgbouncer"]["query_wait_timeout"] == "5"
    assert ini["pgbouncer"]["server_login_retry"] == "1"
    env = process_environment(plan, {})
    assert (
        env["EMPORIUM_DATABASE_REPLICA_URL"]
        == "postgresql+asyncpg://postgres@127.0.0.1:7402/emporium_replica"
    )
    assert env["EMPORIUM_DATABASE_URL"] == "postgresql+asyncpg://postgres@127.0.0.1:7402/emporium"


def test_without_a_replica_no_replica_url_reaches_the_app_processes(tmp_path: Path) -> None:
    plan = ClusterPlan(
        state_dir=tmp_path, extra_env={"EMPORIUM_DATABASE_REPLICA_URL": "postgresql+asyncpg://elsewhere/x"}
    )
    render_all(plan)
    ini = configparser.ConfigParser()
    ini.read(tmp_path / "pgbouncer" / "pgbouncer.ini")
    assert set(ini["databases"]) == {"emporium"}
    # Neither the caller's settings nor a shell's variable wire the cluster to a replica it does not have.
    env = process_environment(plan, {"EMPORIUM_DATABASE_REPLICA_URL": "postgresql+asyncpg://elsewhere/y"})
    assert "EMPORIUM_DATABASE_REPLICA_URL" not in env
