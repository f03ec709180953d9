"""A PostgreSQL primary, its streaming replica and PgBouncer on one machine, from the server's own tools.

For the topology tests and the local cluster of the scaled-out shape (docs/scaling-database.md): a primary
made with ``initdb`` (``wal_level=replica``) on a free loopback port, a replica made from it with
``pg_basebackup -R`` (a hot standby that streams from it), and PgBouncer in transaction mode in front of
both. Everything lives in one directory and stops with ``PgTopology.stop`` (or the end of
``pg_topology``), also when the code in between failed.

PostgreSQL and PgBouncer refuse to run as root: when this process is root, their tools run as the
``postgres`` user (``runuser``) and the directory is handed to that user.

    with pg_topology(Path("/tmp/shop-db"), databases=["emporium"]) as topology:
        topology.primary.url("emporium")            # the direct connection (migrations)
        topology.bouncer.url("emporium")            # the app's primary, through PgBouncer
        topology.bouncer.url("emporium_replica")    # the app's replica, through PgBouncer
        topology.replica.pause_replay()
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Debian keeps each server version's tools here; the ones on PATH are wrappers without all their options.
DEBIAN_SERVER_TOOLS = Path("/usr/lib/postgresql")
PGBOUNCER_PATHS = (Path("/usr/sbin/pgbouncer"), Path("/usr/bin/pgbouncer"))
TOOL_TIMEOUT_SECONDS = 120
# The database name a replica's databases go by in PgBouncer: "<name>_replica".
REPLICA_SUFFIX = "_replica"
SERVER_USER = "postgres"


class ClusterError(RuntimeError):
    """A tool failed; the message carries its output (and the server's log, when there is one)."""


def server_tools() -> Path | None:
    """The newest installed PostgreSQL server's ``bin`` directory (initdb, pg_ctl, pg_basebackup)."""
    versions = sorted(DEBIAN_SERVER_TOOLS.glob("*/bin/initdb"), reverse=True)
    if versions:
        return versions[0].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def pgbouncer_binary() -> Path | None:
    for path in PGBOUNCER_PATHS:
        if path.exists():
            return path
    found = shutil.which("pgbouncer")
    return Path(found) if found else None


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(command: Sequence[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *command] if os.geteuid() == 0 else list(command)


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, SERVER_USER)


def _call(command: Sequence[str], *, text: bool = False) -> subprocess.CompletedProcess[Any]:
    """Runs one of the server's own tools (as its user), arguments built here, no shell."""
    return subprocess.run(  # noqa: S603 - see above
        _as_server_user(command), capture_output=True, text=text, timeout=TOOL_TIMEOUT_SECONDS, check=False
    )


def _run(command: Sequence[str], *, log: Path | None = None) -> str:
    try:
        done = _call(command, text=True)
    except subprocess.TimeoutExpired as exc:
        raise ClusterError(f"{command[0]} did not finish in {TOOL_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        server_log = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        raise ClusterError(
            f"{' '.join(command)} failed: {done.stderr.strip()} {done.stdout.strip()} {server_log}"
        )
    return str(done.stdout)


@dataclass
class PgServer:
    """One PostgreSQL server (primary or replica): its data directory, port and tools."""

    tools: Path
    root: Path
    port: int
    name: str

    @property
    def data(self) -> Path:
        return self.root / self.name

    @property
    def log(self) -> Path:
        return self.root / f"{self.name}.log"

    def url(self, database: str = "postgres", driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root}"
        pg_ctl = str(self.tools / "pg_ctl")
        _run([pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"], log=self.log)

    def stop(self, mode: str = "fast") -> None:
        """Stops the server (``fast``: ends its sessions cleanly; ``immediate``: as a crash would)."""
        _run([str(self.tools / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"], log=self.log)

    def running(self) -> bool:
        return _call([str(self.tools / "pg_ctl"), "-D", str(self.data), "status"]).returncode == 0

    def sql(self, statement: str, database: str = "postgres") -> str:
        """Runs ``statement`` with psql and returns its unaligned output (values only)."""
        psql = str(self.tools / "psql")
        command = [psql, "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", str(self.port), "-U", SERVER_USER]
        return _run([*command, "-d", database, "-v", "ON_ERROR_STOP=1", "-c", statement]).strip()

    def create_database(self, name: str) -> None:
        self.sql(f'CREATE DATABASE "{name}"')

    def pause_replay(self) -> None:
        """A replica stops applying what it receives (it keeps receiving): it falls behind its primary."""
        self.sql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("SELECT pg_wal_replay_resume()")

    def wait_until_replayed(self, lsn: str, timeout: float = 30.0) -> None:
        """Waits until this replica has applied the primary's WAL up to ``lsn`` (``pg_current_wal_lsn()``)."""
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if self.sql(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn") == "t":
                return
            time.sleep(0.05)
        raise ClusterError(f"{self.name} did not replay up to {lsn} in {timeout} s")

    def force_stop(self) -> None:
        _call([str(self.tools / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])


def init_primary(tools: Path, root: Path, port: int | None = None, *, durable: bool = False) -> PgServer:
    """A new primary in ``root/primary``, streaming to replicas, started. ``durable=False`` (tests and
    development) turns fsync off: a machine crash may lose it, a process crash does not."""
    server = PgServer(tools, root, port or free_port(), "primary")
    initdb = [str(tools / "initdb"), "-D", str(server.data), "-A", "trust", "-U", SERVER_USER, "-E", "UTF8"]
    _run([*initdb, *([] if durable else ["--no-sync"])])
    settings = {
        "listen_addresses": "'127.0.0.1'",
        "wal_level": "replica",
        "max_wal_senders": "5",
        "wal_keep_size": "'256MB'",
        "hot_standby": "on",
        # The shop's short statements gain nothing from JIT (db.py); through PgBouncer the app cannot
        # ask for this at connect, so the server says it.
        "jit": "off",
        "fsync": "on" if durable else "off",
    }
    with (server.data / "postgresql.conf").open("a") as conf:
        conf.write("\n# pgcluster.py\n" + "".join(f"{name} = {value}\n" for name, value in settings.items()))
    server.start()
    return server


def base_backup(tools: Path, primary_port: int, data: Path) -> None:
    """``data`` made a hot standby of the primary on ``primary_port`` (``pg_basebackup -R``: it streams from
    it once started). The one way both this module and ``emporium cluster up --replica`` make a replica."""
    basebackup = [str(tools / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary_port), "-U", SERVER_USER]
    _run([*basebackup, "-D", str(data), "-R", "-X", "stream", "-c", "fast", "--no-sync"])


def init_replica(primary: PgServer, root: Path, port: int | None = None, name: str = "replica") -> PgServer:
    """A hot standby of ``primary`` in ``root/<name>`` (``pg_basebackup -R``: it streams from it), started."""
    server = PgServer(primary.tools, root, port or free_port(), name)
    base_backup(primary.tools, primary.port, server.data)
    server.start()
    return server


@dataclass
class PgBouncer:
    """PgBouncer in transaction mode on a free port: ``databases`` maps the names clients use to a server
    and the database there."""

    binary: Path
    root: Path
    port: int
    databases: dict[str, tuple[PgServer, str]]
    pool_size: int = 20
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def config(self) -> Path:
        return self.root / "pgbouncer.ini"

    @property
    def log(self) -> Path:
        return self.root / "pgbouncer.log"

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def write_config(self) -> None:
        lines = ["[databases]"]
        for alias, (server, database) in sorted(self.databases.items()):
            lines.append(f"{alias} = host=127.0.0.1 port={server.port} dbname={database}")
        lines += [
            "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.port}",
            f"unix_socket_dir = {self.root}",
            "auth_type = trust",
            f"auth_file = {self.root / 'userlist.txt'}",
            "pool_mode = transaction",
            f"default_pool_size = {self.pool_size}",
            "max_client_conn = 500",
            # A server that went away is tried again soon, so the app recovers when it is back.
            "server_login_retry = 1",
            # A request waits this long for a server connection, then fails (an outage: 503), instead of
            # PgBouncer's 120 s while the primary is down.
            "query_wait_timeout = 5",
            "ignore_startup_parameters = extra_float_digits",
            f"logfile = {self.log}",
            f"pidfile = {self.root / 'pgbouncer.pid'}",
        ]
        (self.root / "userlist.txt").write_text(f'"{SERVER_USER}" ""\n')
        self.config.write_text("\n".join(lines) + "\n")
        for path in (self.config, self.root / "userlist.txt"):
            _own(path)

    def start(self, timeout: float = 15.0) -> None:
        self.write_config()
        self.process = subprocess.Popen(  # noqa: S603 - our own binary and config
            _as_server_user([str(self.binary), str(self.config)]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        ends = time.monotonic() + timeout
        while time.monotonic() < ends:
            if self.process.poll() is not None:
                log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
                raise ClusterError(f"pgbouncer exited with {self.process.returncode}: {log}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise ClusterError(f"pgbouncer did not listen on {self.port} in {timeout} s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass
class PgTopology:
    """A primary, its replica (or None) and PgBouncer in front of them (or None), in one directory."""

    root: Path
    primary: PgServer
    replica: PgServer | None
    bouncer: PgBouncer | None

    def stop(self) -> None:
        """Stops everything that runs, quickly (tests: no checkpoint wanted)."""
        if self.bouncer is not None:
            self.bouncer.stop()
        for server in (self.replica, self.primary):
            if server is not None:
                server.force_stop()


def start_topology(
    root: Path,
    databases: Sequence[str] = ("emporium",),
    *,
    replica: bool = True,
    bouncer: bool = True,
    bouncer_pool_size: int = 20,
) -> PgTopology:
    """Starts the shape in ``root`` (made if missing): the ``databases`` exist on the primary (and so on
    the replica); PgBouncer serves each as itself and, with a replica, as ``<name>_replica``, with at most
    ``bouncer_pool_size`` server connections per database."""
    tools = server_tools()
    if tools is None or not (tools / "pg_ctl").exists():
        raise ClusterError("PostgreSQL's server tools (initdb, pg_ctl) are not installed")
    binary = pgbouncer_binary() if bouncer else None
    if bouncer and binary is None:
        raise ClusterError("pgbouncer is not installed")
    root.mkdir(parents=True, exist_ok=True)
    _own(root)
    if os.geteuid() == 0 and _call(["test", "-w", str(root)]).returncode:
        raise ClusterError(f"the {SERVER_USER} user cannot reach {root}: choose a directory it can write to")
    topology = PgTopology(root, init_primary(tools, root), None, None)
    try:
        for name in databases:
            topology.primary.create_database(name)
        if replica:
            topology.replica = init_replica(topology.primary, root)
        if binary is not None:
            routes = {name: (topology.primary, name) for name in databases}
            if topology.replica is not None:
                routes |= {name + REPLICA_SUFFIX: (topology.replica, name) for name in databases}
            topology.bouncer = PgBouncer(binary, root, free_port(), routes, bouncer_pool_size)
            topology.bouncer.start()
    except BaseException:
        topology.stop()
        raise
    return topology


@contextmanager
def pg_topology(
    root: Path, databases: Sequence[str] = ("emporium",), *, replica: bool = True, bouncer: bool = True
) -> Iterator[PgTopology]:
    """``start_topology`` for the block; stopped at its end however it ends. The directory is removed
    unless ``root`` existed before."""
    existed = root.exists()
    with ExitStack() as cleanup:
        if not existed:
            cleanup.callback(shutil.rmtree, root, ignore_errors=True)
        topology = start_topology(root, databases, replica=replica, bouncer=bouncer)
        cleanup.callback(topology.stop)
        yield topology
