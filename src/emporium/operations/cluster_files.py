"""The scaled-out shape on one machine: where each part listens and keeps its files, and the configuration
files rendered from the production templates in ``deploy/`` (the same files an operator installs).

Ports are counted from one base port so that several clusters (a developer's and a test's) can run side by
side: nginx on the base, PostgreSQL +1, PgBouncer +2, Redis +3, the app processes from +10.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from emporium.operations.pgcluster import server_tools

DATABASE = "emporium"
# The replica's database as the app names it through PgBouncer (as pgcluster.py's REPLICA_SUFFIX).
REPLICA_DATABASE = f"{DATABASE}_replica"
DB_USER = "postgres"
# Where the server's tools are when none is installed yet (Debian bookworm's version), for the error message.
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# The templates: in a source checkout next to src/, in an image wherever EMPORIUM_DEPLOY_DIR says.
SOURCE_DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


class ClusterError(Exception):
    """The shape cannot start as asked: a missing program, a port in use, a part that did not come up."""


def deploy_dir() -> Path:
    found = os.environ.get("EMPORIUM_DEPLOY_DIR")
    for candidate in (Path(found) if found else None, SOURCE_DEPLOY, Path.cwd() / "deploy"):
        if candidate is not None and (candidate / "nginx" / "emporium.conf").is_file():
            return candidate
    raise ClusterError("the deploy/ templates are not found: set EMPORIUM_DEPLOY_DIR")


@dataclass(frozen=True)
class ClusterPlan:
    state_dir: Path
    apps: int = 3
    workers: int = 2
    base_port: int = 7400
    # "redis" (the cluster's own Redis, database 1) or a broker URL (amqp://... with a vhost of its own).
    broker: str = "redis"
    replica: bool = False
    # The newest server installed (Debian keeps each version's tools in /usr/lib/postgresql/<version>/bin).
    pg_bin: Path = field(default_factory=lambda: server_tools() or PG_BIN)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def http_port(self) -> int:
        return self.base_port

    @property
    def pg_port(self) -> int:
        return self.base_port + 1

    @property
    def bouncer_port(self) -> int:
        return self.base_port + 2

    @property
    def redis_port(self) -> int:
        return self.base_port + 3

    @property
    def replica_port(self) -> int:
        return self.base_port + 4

    def app_port(self, index: int) -> int:
        return self.base_port + 10 + index

    def path(self, *parts: str) -> Path:
        return self.state_dir.joinpath(*parts)

    @property
    def direct_url(self) -> str:
        """PostgreSQL itself: migrations, backups and the bulk COPY of imports."""
        return f"postgresql+asyncpg://{DB_USER}@127.0.0.1:{self.pg_port}/{DATABASE}"

    @property
    def pooled_url(self) -> str:
        return f"postgresql+asyncpg://{DB_USER}@127.0.0.1:{self.bouncer_port}/{DATABASE}"

    @property
    def replica_url(self) -> str | None:
        """The replica through PgBouncer (docs/scaling-database.md): its own pool, the same pooler setting."""
        if not self.replica:
            return None
        return f"postgresql+asyncpg://{DB_USER}@127.0.0.1:{self.bouncer_port}/{REPLICA_DATABASE}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/1" if self.broker == "redis" else self.broker

    @property
    def public_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"


def secret_key(plan: ClusterPlan) -> str:
    """The cluster's secret key, made once and kept in its state directory (sessions outlive a restart)."""
    path = plan.path("secret_key")
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


# The settings that wire the processes to the shape's own parts: the shape decides them, never the caller.
WIRING = (
    "EMPORIUM_DATABASE_URL",
    "EMPORIUM_DATABASE_MIGRATION_URL",
    "EMPORIUM_DATABASE_POOLER",
    "EMPORIUM_DATABASE_REPLICA_URL",
    "EMPORIUM_REDIS_URL",
    "EMPORIUM_JOBS_BROKER_URL",
    "EMPORIUM_METRICS_DIR",
)


def app_environment(plan: ClusterPlan) -> dict[str, str]:
    """The EMPORIUM_* settings every app process and worker of the cluster shares."""
    env = {
        "EMPORIUM_PUBLIC_URL": plan.public_url,
        "EMPORIUM_SECRET_KEY": secret_key(plan),
        "EMPORIUM_DATABASE_URL": plan.pooled_url,
        # Migrations, backups and bulk COPY go to PostgreSQL itself, never through the transaction pooler.
        "EMPORIUM_DATABASE_MIGRATION_URL": plan.direct_url,
        # No statement stays prepared across transactions: PgBouncer hands each to any server connection.
        "EMPORIUM_DATABASE_POOLER": "pgbouncer",
        "EMPORIUM_REDIS_URL": plan.redis_url,
        "EMPORIUM_JOBS_BROKER_URL": plan.broker_url,
        # nginx connects from loopback: only it may say who the client is.
        "EMPORIUM_TRUSTED_PROXIES": "127.0.0.1/32",
        "EMPORIUM_MEDIA_DIR": str(plan.path("media")),
        "EMPORIUM_METRICS_DIR": str(plan.path("metrics")),
        "EMPORIUM_RATE_LIMIT_FILE": str(plan.path("limits.db")),
    }
    if plan.replica_url is not None:
        # Anonymous catalog reads go to the replica (core/read_routing.py); an empty value: no replica.
        env["EMPORIUM_DATABASE_REPLICA_URL"] = plan.replica_url
    # The caller's own settings (a test's, an operator's) win over the shape's defaults, except the wiring.
    settings = {**env, **plan.extra_env} | {key: env[key] for key in WIRING if key in env}
    return {key: value for key, value in settings.items() if key in env or key not in WIRING}


def process_environment(plan: ClusterPlan, inherited: dict[str, str]) -> dict[str, str]:
    """The app processes' whole environment: ``inherited`` (the caller's) without any wiring of its own (a
    replica URL left in the shell must not reach a cluster started without one), then the shape's."""
    return {k: v for k, v in inherited.items() if k not in WIRING} | app_environment(plan)


def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(deploy_dir())),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # configuration files, not HTML  # noqa: S701
    )


def render_site(
    *,
    app_addresses: list[str],
    listen: str,
    media_dir: str,
    cache_dir: str,
    include_dir: str,
    trusted_proxy: str,
    server_name: str = "localhost",
    media_url_prefix: str = "/media",
) -> str:
    """deploy/nginx/emporium.conf for these values (the one-machine shape's, or compose's)."""
    return (
        _templates()
        .get_template("nginx/emporium.conf")
        .render(
            app_addresses=app_addresses,
            listen=listen,
            media_dir=media_dir,
            cache_dir=cache_dir,
            include_dir=include_dir,
            trusted_proxy=trusted_proxy,
            server_name=server_name,
            media_url_prefix=media_url_prefix.rstrip("/"),
        )
    )


# Where deploy/nginx/microcache-http.conf keeps the pages (Debian's layout); the one-machine shape's own.
PAGE_CACHE_DIR = "/var/cache/nginx/emporium-pages"
COMPOSE_SITE = Path("compose") / "nginx.conf"


def render_compose_site() -> str:
    """deploy/compose/nginx.conf: the site for compose.yaml's nginx (tests check the file is this)."""
    site = render_site(
        app_addresses=["app:8000"],
        listen="80",
        media_dir="/var/lib/emporium/media",
        cache_dir="/var/cache/nginx/emporium",
        include_dir="/etc/nginx/emporium",
        trusted_proxy="172.16.0.0/12",
        server_name="_",
    )
    return (
        "# Rendered from deploy/nginx/emporium.conf for compose.yaml: edit that template, not this file.\n"
        + site
    )


def render_nginx(plan: ClusterPlan) -> None:
    target = plan.path("nginx")
    include_dir = target / "conf.d"
    include_dir.mkdir(parents=True, exist_ok=True)
    # The storefront micro-cache is installed next to the site, its cache kept under the state directory.
    shutil.copyfile(deploy_dir() / "nginx" / "microcache.conf", include_dir / "microcache.conf")
    zone = (deploy_dir() / "nginx" / "microcache-http.conf").read_text()
    if PAGE_CACHE_DIR not in zone:
        raise ClusterError(f"deploy/nginx/microcache-http.conf no longer keeps its pages in {PAGE_CACHE_DIR}")
    (include_dir / "microcache-http.conf").write_text(
        zone.replace(PAGE_CACHE_DIR, str(target / "cache" / "pages"))
    )
    site = render_site(
        app_addresses=[f"127.0.0.1:{plan.app_port(i)}" for i in range(plan.apps)],
        listen=f"127.0.0.1:{plan.http_port}",
        media_dir=str(plan.path("media")),
        cache_dir=str(target / "cache"),
        include_dir=str(include_dir),
        trusted_proxy="127.0.0.1/32",
        media_url_prefix=plan.extra_env.get("EMPORIUM_MEDIA_URL_PREFIX", "/media"),
    )
    (target / "emporium.conf").write_text(site)
    # Run as root (a container, CI), nginx's workers take an unprivileged user.
    main = (
        _templates()
        .get_template("local/nginx.conf")
        .render(state_dir=str(plan.state_dir), user="nobody nogroup" if os.geteuid() == 0 else None)
    )
    (target / "nginx.conf").write_text(main)


def render_pgbouncer(plan: ClusterPlan) -> None:
    templates = _templates()
    target = plan.path("pgbouncer")
    target.mkdir(parents=True, exist_ok=True)
    ini = templates.get_template("pgbouncer/pgbouncer.ini").render(
        database=DATABASE,
        server_host="127.0.0.1",
        server_port=plan.pg_port,
        replica_database=REPLICA_DATABASE,
        replica_port=plan.replica_port if plan.replica else None,
        listen_addr="127.0.0.1",
        listen_port=plan.bouncer_port,
        socket_dir=str(target),
        log_file=str(target / "pgbouncer.log"),
        pid_file=str(target / "pgbouncer.pid"),
        auth_type="trust",
        auth_file=str(target / "userlist.txt"),
        admin_user=DB_USER,
        pool_size=20,
    )
    (target / "pgbouncer.ini").write_text(ini)
    users = templates.get_template("pgbouncer/userlist.txt").render(user=DB_USER, secret="")
    (target / "userlist.txt").write_text(users)


def render_all(plan: ClusterPlan) -> None:
    plan.state_dir.mkdir(parents=True, exist_ok=True)
    render_nginx(plan)
    render_pgbouncer(plan)
