"""PostgreSQL's own tools for backups: which pg_dump and pg_restore to run, and how to reach the database.

pg_dump refuses a server newer than itself, and a dump is best read by the pg_restore of the same major
version, so the tool is picked by the server's major version: the one given on the command line, else
``/usr/lib/postgresql/<major>/bin`` (Debian, Ubuntu), ``/usr/pgsql-<major>/bin`` (RHEL and the PostgreSQL
packages for it), ``/usr/local/opt/postgresql@<major>/bin`` (Homebrew), else the one on PATH. A tool of the
same major version is taken first; failing that, the newest newer one; an older one never.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from emporium.operations.backup_archive import BackupError

# "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)": the major version follows the product name.
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


@dataclass(frozen=True)
class Tool:
    path: Path
    version: str  # "pg_dump (PostgreSQL) 15.20"
    major: int


def _candidates(name: str, major: int, bin_dir: Path | None) -> list[Path]:
    if bin_dir is not None:
        return [bin_dir / name]
    found = [
        Path(f"/usr/lib/postgresql/{major}/bin/{name}"),
        Path(f"/usr/pgsql-{major}/bin/{name}"),
        Path(f"/usr/local/opt/postgresql@{major}/bin/{name}"),
    ]
    found += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    return list(dict.fromkeys(found))


def _describe(path: Path) -> Tool | None:
    if not os.access(path, os.X_OK):
        return None
    try:
        done = subprocess.run(  # noqa: S603 - a PostgreSQL tool found above, no shell
            [str(path), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return None
    found = _VERSION.search(done.stdout) if done.returncode == 0 else None
    if found is None:
        return None
    return Tool(path, done.stdout.strip(), int(found.group(1)))


def find_tool(name: str, server_major: int, bin_dir: Path | None = None) -> Tool:
    """The ``pg_dump`` or ``pg_restore`` to use with a server of ``server_major``."""
    tools = [t for t in map(_describe, _candidates(name, server_major, bin_dir)) if t is not None]
    same = [t for t in tools if t.major == server_major]
    newer = sorted((t for t in tools if t.major > server_major), key=lambda t: t.major, reverse=True)
    if same or newer:
        return (same or newer)[0]
    seen = ", ".join(f"{t.path} ({t.major})" for t in tools) or "none"
    raise BackupError(
        f"no {name} of PostgreSQL {server_major} or newer was found (found: {seen}); install the "
        f"PostgreSQL {server_major} client tools or name their folder with --pg-bin-dir"
    )


def libpq_environment(database_url: str) -> tuple[str, dict[str, str]]:
    """The database name and the libpq variables that reach it: the password travels in the environment,
    never on a command line that other users of the machine can read."""
    url = make_url(database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    values = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGSSLMODE": url.query.get("sslmode") or url.query.get("ssl"),
    }
    env.update({k: str(v) for k, v in values.items() if v})
    if not url.database:
        raise BackupError("the database URL names no database")
    return url.database, env


def run_tool(tool: Tool, args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 - a PostgreSQL tool found above, no shell
        [str(tool.path), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{tool.path.name} failed: {' / '.join(detail[-5:]) or done.returncode}")
