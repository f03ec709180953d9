"""`emporium cluster up|down|status`: the scaled-out shape on one machine, for development and the topology
tests. PostgreSQL (a private cluster) and, with ``--replica``, its streaming replica, PgBouncer in
transaction mode, Redis, N app processes, the workers and nginx, each in a process group of its own, watched
by one supervisor that starts again whatever dies (as systemd's Restart=always does in production,
deploy/systemd/) and stops everything on SIGTERM or Ctrl-C.

The supervisor writes ``cluster.json`` in the state directory: its own pid, each part's pid, how many times
each was restarted, and whether the shape is ready; ``down`` and ``status`` read it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from emporium.operations.cluster_files import (
    DATABASE,
    DB_USER,
    ClusterError,
    ClusterPlan,
    process_environment,
    render_all,
)
from emporium.operations.pgcluster import ClusterError as ToolError
from emporium.operations.pgcluster import base_backup

STATE_FILE = "cluster.json"
START_SECONDS = 60
RESTART_DELAY_SECONDS = 0.5
EMPORIUM = str(Path(sys.executable).parent / "emporium")


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str] | None = None
    port: int | None = None
    # PostgreSQL will not run as root, nor will PgBouncer: they take the postgres user then.
    as_postgres: bool = False
    stop_signal: int = signal.SIGTERM
    # A worker finishes the job in hand before it exits (its lease bounds how long that takes).
    stop_seconds: float = 20
    # Listening is not always ready: PostgreSQL answers "starting up" for a while.
    ready: Callable[[], bool] | None = None
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    log: IO[bytes] | None = field(default=None, repr=False)


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _postgres_user() -> dict[str, Any]:
    return {"user": "postgres", "group": "postgres", "extra_groups": []} if os.geteuid() == 0 else {}


class Supervisor:
    def __init__(self, plan: ClusterPlan) -> None:
        self.plan = plan
        self.services: list[Service] = []
        self.stopping = False
        self.ready = False

    # -- processes ---------------------------------------------------------------------------------
    def spawn(self, service: Service) -> None:
        logs = self.plan.path("logs")
        logs.mkdir(exist_ok=True)
        if service.log is None:
            service.log = (logs / f"{service.name}.log").open("ab")
        service.proc = subprocess.Popen(  # noqa: S603
            service.command,
            env=service.env,
            cwd=self.plan.state_dir,
            stdout=service.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stopped whole, children included
            **(_postgres_user() if service.as_postgres else {}),
        )

    def start(self, *services: Service) -> None:
        """Start these side by side and wait until each listens (app processes take seconds to import)."""
        for service in services:
            self.services.append(service)
            self.spawn(service)
        for service in services:
            if service.port is not None:
                self.wait_for_port(service)
        self.save()

    def wait_for_port(self, service: Service) -> None:
        assert service.port is not None
        deadline = time.monotonic() + START_SECONDS
        while not _port_open(service.port) or (service.ready is not None and not service.ready()):
            if service.proc is not None and service.proc.poll() is not None:
                raise ClusterError(f"{service.name} exited with {service.proc.returncode}: see logs/")
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{service.name} did not listen on {service.port} within {START_SECONDS} s"
                )
            time.sleep(0.1)

    def stop(self, service: Service) -> None:
        proc = service.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, service.stop_signal)
            proc.wait(service.stop_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        except ProcessLookupError:
            proc.wait(10)

    def stop_all(self) -> None:
        self.stopping = True
        for service in reversed(self.services):
            self.stop(service)
            if service.log is not None:
                service.log.close()
        self.ready = False
        self.save()

    def watch_once(self) -> None:
        """Start again what died on its own (a crash, a kill -9)."""
        for service in self.services:
            if self.stopping or service.proc is None or service.proc.poll() is None:
                continue
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(service.proc.pid, signal.SIGKILL)  # what it left of its group
            time.sleep(RESTART_DELAY_SECONDS)
            service.restarts += 1
            self.spawn(service)
            self.save()

    def save(self) -> None:
        state = {
            "supervisor_pid": os.getpid(),
            "ready": self.ready,
            "public_url": self.plan.public_url,
            "direct_url": self.plan.direct_url,
            "pooled_url": self.plan.pooled_url,
            "replica_url": self.plan.replica_url,
            "replica_direct_url": _replica_direct_url(self.plan),
            "redis_url": self.plan.redis_url,
            "broker_url": self.plan.broker_url,
            "services": {
                s.name: {
                    "pid": s.proc.pid if s.proc else None,
                    "port": s.port,
                    "restarts": s.restarts,
                    "running": s.proc is not None and s.proc.poll() is None,
                }
                for s in self.services
            },
        }
        temporary = self.plan.path(STATE_FILE + ".new")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.plan.path(STATE_FILE))


def _check_programs(plan: ClusterPlan) -> None:
    needed = {
        "nginx": shutil.which("nginx"),
        "pgbouncer": shutil.which("pgbouncer"),
        "redis-server": shutil.which("redis-server"),
        "postgres": str(plan.pg_bin / "postgres") if (plan.pg_bin / "postgres").exists() else None,
    }
    if plan.replica:
        basebackup = plan.pg_bin / "pg_basebackup"
        needed["pg_basebackup"] = str(basebackup) if basebackup.exists() else None
    missing = [name for name, found in needed.items() if found is None]
    if missing:
        raise ClusterError(
            f"missing: {', '.join(missing)} (Debian: apt-get install nginx pgbouncer redis-server postgresql)"
        )
    taken = [port for port in _ports(plan) if _port_open(port)]
    if taken:
        raise ClusterError(f"ports already in use: {taken} (choose another --base-port)")


def _ports(plan: ClusterPlan) -> list[int]:
    return [
        plan.http_port,
        plan.pg_port,
        plan.bouncer_port,
        plan.redis_port,
        *([plan.replica_port] if plan.replica else []),
        *(plan.app_port(i) for i in range(plan.apps)),
    ]


def _run_checked(command: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> None:
    done = subprocess.run(command, env=env, capture_output=True, timeout=300, check=False, **kwargs)  # noqa: S603
    if done.returncode != 0:
        output = (done.stdout + done.stderr).decode(errors="replace")[-2000:]
        raise ClusterError(f"{' '.join(command[:3])} failed ({done.returncode}):\n{output}")


def _init_postgres(plan: ClusterPlan) -> None:
    root = plan.path("postgres")
    if (root / "data" / "PG_VERSION").exists():
        return
    root.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        plan.state_dir.chmod(0o755)  # the postgres user reaches its folder through this one
        shutil.chown(root, "postgres", "postgres")
        closed = [p for p in plan.state_dir.parents if not p.stat().st_mode & 0o001]
        if closed:
            raise ClusterError(
                f"PostgreSQL runs as the postgres user, who cannot pass through {closed[0]}: choose a state "
                "directory it can reach (under /tmp or /var/lib, say)"
            )
    initdb = [str(plan.pg_bin / "initdb"), "-D", str(root / "data"), "-A", "trust", "-U", DB_USER]
    _run_checked([*initdb, "-E", "UTF8", "--no-sync"], **_postgres_user())


def _psql(plan: ClusterPlan, sql: str, **variables: str) -> str:
    """One statement through psql, fed on stdin so that psql's :'name' quoting of the variables applies."""
    command = [str(plan.pg_bin / "psql"), "-h", "127.0.0.1", "-p", str(plan.pg_port), "-U", DB_USER]
    command += ["-d", "postgres", "-tA", "-v", "ON_ERROR_STOP=1"]
    command += [f"--set={name}={value}" for name, value in variables.items()]
    done = subprocess.run(  # noqa: S603
        command, input=sql.encode(), capture_output=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise ClusterError(f"psql: {done.stderr.decode(errors='replace')}")
    return done.stdout.decode().strip()


def _replica_direct_url(plan: ClusterPlan) -> str | None:
    """The replica itself, past PgBouncer (the tests' and an operator's look at it)."""
    if not plan.replica:
        return None
    return f"postgresql+asyncpg://{DB_USER}@127.0.0.1:{plan.replica_port}/{DATABASE}"


def _init_replica(plan: ClusterPlan) -> None:
    """The replica's data: a base backup of the running primary (``pg_basebackup -R``, pgcluster.py's), kept
    on later starts, when it streams on from where it stopped."""
    root = plan.path("replica")
    if (root / "data" / "PG_VERSION").exists():
        return
    root.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    try:
        base_backup(plan.pg_bin, plan.pg_port, root / "data")
    except ToolError as exc:
        raise ClusterError(f"the replica's base backup failed: {exc}") from exc


def _pg_ready(plan: ClusterPlan, port: int | None = None) -> bool:
    command = [
        str(plan.pg_bin / "pg_isready"),
        "-q",
        "-U",
        DB_USER,
        "-h",
        "127.0.0.1",
        "-p",
        str(port or plan.pg_port),
    ]
    return subprocess.run(command, timeout=10, check=False).returncode == 0  # noqa: S603


def _create_database(plan: ClusterPlan) -> None:
    if _psql(plan, "SELECT 1 FROM pg_database WHERE datname = :'name'", name=DATABASE) != "1":
        _psql(plan, f"CREATE DATABASE {DATABASE}")
    # Through PgBouncer the app's connect-time jit=off is not passed on (core/db.py): set it on the database.
    _psql(plan, f"ALTER DATABASE {DATABASE} SET jit = off")


def _emporium(plan: ClusterPlan, *args: str, env: dict[str, str]) -> None:
    _run_checked([EMPORIUM, *args], env=env, cwd=plan.state_dir)


def infrastructure(plan: ClusterPlan) -> list[Service]:
    pg = plan.path("postgres")
    postgres = [str(plan.pg_bin / "postgres"), "-D", str(pg / "data"), "-p", str(plan.pg_port), "-k", str(pg)]
    pgbouncer = ["pgbouncer", str(plan.path("pgbouncer", "pgbouncer.ini"))]
    redis = ["redis-server", "--port", str(plan.redis_port), "--bind", "127.0.0.1", "--save", ""]
    # The broker's queue outlives a restart of Redis (appendonly); a lost message is sent again anyway
    # once its claim lapses (core/jobs/runner.py).
    redis += ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(plan.path("redis"))]
    nginx = ["nginx", "-c", str(plan.path("nginx", "nginx.conf")), "-g", "daemon off;"]
    return [
        Service(
            "postgres",
            [*postgres, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
            port=plan.pg_port,
            as_postgres=True,
            ready=lambda: _pg_ready(plan),
            stop_signal=signal.SIGINT,  # a fast shutdown: the clients are being stopped anyway
        ),
        Service("redis", redis, port=plan.redis_port),
        Service("pgbouncer", pgbouncer, port=plan.bouncer_port, as_postgres=True, stop_signal=signal.SIGINT),
        Service("nginx", nginx, port=plan.http_port, stop_signal=signal.SIGQUIT),
    ]


def replica_service(plan: ClusterPlan) -> Service:
    """The hot standby: the primary's own settings came with the base backup; it only listens elsewhere."""
    root = plan.path("replica")
    command = [str(plan.pg_bin / "postgres"), "-D", str(root / "data"), "-p", str(plan.replica_port)]
    command += ["-k", str(root), "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"]
    return Service(
        "replica",
        command,
        port=plan.replica_port,
        as_postgres=True,
        ready=lambda: _pg_ready(plan, plan.replica_port),
        stop_signal=signal.SIGINT,
    )


def app_services(plan: ClusterPlan, env: dict[str, str]) -> list[Service]:
    services = []
    for index in range(plan.apps):
        port = plan.app_port(index)
        command = [EMPORIUM, "serve", "--host", "127.0.0.1", "--port", str(port)]
        services.append(Service(f"app-{index + 1}", command, env=env, port=port))
    for index in range(plan.workers):
        # A worker finishes the job in hand on SIGTERM: its lease bounds how long that takes.
        services.append(Service(f"worker-{index + 1}", [EMPORIUM, "worker"], env=env, stop_seconds=30))
    return services


def _prepare(plan: ClusterPlan) -> None:
    for folder in ("media", "metrics", "redis", "logs", "nginx/tmp", "nginx/cache"):
        plan.path(folder).mkdir(parents=True, exist_ok=True)
    for stale in plan.path("metrics").glob("*.db"):
        stale.unlink()  # a multiprocess metrics directory starts empty
    render_all(plan)
    if os.geteuid() == 0:
        shutil.chown(plan.path("pgbouncer"), "postgres", "postgres")


def _interrupt(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def up(plan: ClusterPlan, *, demo: bool = False) -> Supervisor:
    """Start every part in order and return the supervisor, ready (call ``supervise`` to watch over it)."""
    # Stopped while starting (Ctrl-C, SIGTERM from `down` or a test): what did start is stopped below.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _interrupt)
    _check_programs(plan)
    _prepare(plan)
    _init_postgres(plan)
    supervisor = Supervisor(plan)
    postgres, redis, pgbouncer, nginx = infrastructure(plan)
    try:
        supervisor.start(postgres)
        _create_database(plan)
        supervisor.start(redis)
        supervisor.start(pgbouncer)
        env = process_environment(plan, dict(os.environ))
        # Migrations (and the demo data's bulk writes) go to PostgreSQL itself, not through the pooler.
        direct = {**env, "EMPORIUM_DATABASE_URL": plan.direct_url}
        _emporium(plan, "migrate", env=direct)
        if demo:
            _emporium(plan, "demo", env=direct)
        if plan.replica:
            # After the migrations: the base backup carries the schema, and streams whatever comes next.
            _init_replica(plan)
            supervisor.start(replica_service(plan))
        supervisor.start(*app_services(plan, env))
        supervisor.start(nginx)
    except BaseException:
        supervisor.stop_all()
        raise
    supervisor.ready = True
    supervisor.save()
    return supervisor


def supervise(supervisor: Supervisor) -> None:
    """Watch until SIGTERM or SIGINT, then stop everything (reverse order of start)."""
    asked: list[int] = []

    def ask_to_stop(signum: int, _frame: object) -> None:
        asked.append(signum)

    previous = {sig: signal.signal(sig, ask_to_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not asked:
            supervisor.watch_once()
            time.sleep(0.2)
    finally:
        supervisor.stop_all()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_dir / STATE_FILE
    if not path.exists():
        raise ClusterError(f"no cluster in {state_dir} (no {STATE_FILE})")
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def down(state_dir: Path, seconds: float = 90) -> bool:
    """Ask the supervisor to stop the shape; True when it did within ``seconds``."""
    pid = int(read_state(state_dir).get("supervisor_pid") or 0)
    if not _alive(pid):
        return True
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + seconds
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def status_lines(state_dir: Path) -> list[str]:
    state = read_state(state_dir)
    supervisor = "running" if _alive(state.get("supervisor_pid")) else "stopped"
    lines = [f"supervisor {state.get('supervisor_pid')}: {supervisor}, ready: {state.get('ready')}"]
    lines.append(f"shop: {state['public_url']}")
    if state.get("replica_url"):
        lines.append(f"replica: {state['replica_direct_url']} (the app reads it as {state['replica_url']})")
    for name, service in state["services"].items():
        running = "up" if _alive(service["pid"]) else "down"
        port = f" :{service['port']}" if service["port"] else ""
        lines.append(f"{name:10} pid {service['pid']}{port} {running}, restarts {service['restarts']}")
    return lines
