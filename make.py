#!/usr/bin/env python3
"""Emporium's entry point for people: set up and run the shop, or set up and run the tests.

    python3 make.py run     install everything, migrate, load the demo data once, create the admin, serve
    python3 make.py test    install everything the tests need, then lint, type-check and run the tests
    python3 make.py test-topology
                            the scaled-out shape's acceptance tests (tests/topology/): a cluster of nginx,
                            app processes, workers, PgBouncer, PostgreSQL and Redis started for real
    python3 make.py lock    re-pin the Python dependencies after changing pyproject.toml

Only the Python standard library is used here, so a fresh machine with Python 3.11+ can run it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("EMPORIUM_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
UV_VERSION = "0.13.9"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)  # noqa: S603
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_venv() -> None:
    if not PYTHON.exists():
        say(f"creating the virtual environment in {VENV.name}/")
        venv.EnvBuilder(with_pip=True, clear=False).create(VENV)


def install_python(lock: str) -> None:
    """Install the pinned packages; skipped when the lock file has not changed since the last install."""
    ensure_venv()
    lock_path = ROOT / lock
    marker = VENV / f".installed-{lock}"
    digest = hashlib.sha256(lock_path.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if marker.exists() and marker.read_text() == digest:
        return
    say(f"installing Python packages from {lock}")
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", lock_path)
    run(PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-e", ROOT)
    marker.write_text(digest)


def install_frontend() -> None:
    if not (ROOT / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed for the front-end packages: install Node.js 20 or newer")
    lock = ROOT / "package-lock.json"
    marker = ROOT / "node_modules" / ".installed"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest() if lock.exists() else ""
    if marker.exists() and marker.read_text() == digest:
        return
    say("installing front-end packages")
    run(npm, "ci", "--no-audit", "--no-fund")
    marker.write_text(digest)


CHROMIUM = Path("/usr/bin/chromium")


SUDO = [] if os.geteuid() == 0 else ["sudo"]


def apt_install(packages: list[str], purpose: str) -> bool:
    """Debian packages, with apt-get (through sudo unless root); False where there is no apt-get."""
    apt_get = shutil.which("apt-get")
    if apt_get is None:
        return False
    apt, names = " ".join([*SUDO, "apt-get"]), " ".join(packages)
    say(f"installing {names} for {purpose}: {apt} update && {apt} install -y {names}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(*SUDO, apt_get, "update", env=env)
    run(*SUDO, apt_get, "install", "-y", *packages, env=env)
    return True


def install_browser() -> None:
    """The browser tests drive Debian's chromium (never a downloaded browser); install it where apt-get is."""
    if CHROMIUM.exists():
        return
    if not apt_install(["chromium"], "the browser tests"):
        say(f"{CHROMIUM} is missing and apt-get is not available: the browser tests will be skipped")


# The topology tests' programs: the Debian package of each, and how to tell it is installed.
TOPOLOGY_PACKAGES: dict[str, Callable[[], bool]] = {
    "nginx": lambda: shutil.which("nginx") is not None,
    "pgbouncer": lambda: any(Path(p).exists() for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")),
    "redis-server": lambda: shutil.which("redis-server") is not None,
    # Debian's default server version; the cluster takes the newest one in /usr/lib/postgresql/.
    "postgresql": lambda: any(Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup")),
    # The RabbitMQ broker test starts a node of its own (it is skipped without the package).
    "rabbitmq-server": lambda: Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists(),
}
# apt starts these as system services on install; the cluster runs its own instances, so they are stopped
# and disabled again. The servers a machine shares (PostgreSQL, Redis, RabbitMQ) are left as they are.
OWN_INSTANCES = ("nginx", "pgbouncer")


def stop_system_service(name: str) -> None:
    if Path("/run/systemd/system").exists() and shutil.which("systemctl"):
        command = [*SUDO, "systemctl", "disable", "--now", name]
    elif shutil.which("service"):
        command = [*SUDO, "service", name, "stop"]
    else:
        return
    say(f"stopping the system's {name} (the cluster starts its own): {' '.join(command)}")
    if subprocess.run(command, cwd=ROOT, check=False).returncode != 0:  # noqa: S603
        say(f"could not stop the system's {name}; the cluster uses its own ports anyway")


def install_topology_packages() -> None:
    missing = [package for package, present in TOPOLOGY_PACKAGES.items() if not present()]
    if not missing:
        return
    if not apt_install(missing, "the topology tests"):
        sys.exit(f"the topology tests need {', '.join(missing)} (Debian packages) and apt-get is not here")
    for name in OWN_INSTANCES:
        if name in missing:
            stop_system_service(name)


def emporium(*args: str) -> None:
    run(BIN / "emporium", *args)


def cmd_run() -> None:
    install_python("requirements.lock")
    install_frontend()
    emporium("setup")
    port = os.environ.get("EMPORIUM_PORT", "8000")
    os.execv(str(BIN / "emporium"), [str(BIN / "emporium"), "serve", "--port", port])  # noqa: S606


def cmd_test(pytest_args: list[str]) -> None:
    install_python("requirements-dev.lock")
    install_frontend()
    install_browser()
    say("ruff")
    run(BIN / "ruff", "check", "src", "tests", "make.py", "bench")
    run(BIN / "ruff", "format", "--check", "src", "tests", "make.py", "bench")
    say("mypy")
    run(BIN / "mypy")
    database = os.environ.get("EMPORIUM_DATABASE_URL", "SQLite (a temporary file)")
    say(f"pytest on {database.split('@')[-1]}")
    # One worker per core, each on a database of its own (tests/conftest.py); "-n 0" runs in one process.
    # The slowest tests are listed at the end, so a suite that grows slow says where.
    run(PYTHON, "-m", "pytest", "--numprocesses=auto", "--dist=loadfile", "--durations=30", *pytest_args)


def cmd_test_topology(pytest_args: list[str]) -> None:
    """tests/topology/, skipped by `test`: they start the whole shape (emporium cluster up) once, on this
    machine, from the Debian packages of nginx, pgbouncer, redis-server and PostgreSQL's server (installed
    with apt-get when missing, as the browser is for `test`)."""
    install_python("requirements-dev.lock")
    install_frontend()
    install_topology_packages()
    say("topology tests (nginx, app processes, workers, PgBouncer, PostgreSQL, Redis)")
    env = {**os.environ, "EMPORIUM_TOPOLOGY_TESTS": "1"}
    # One cluster for the session, so one process; -rP prints what the tests measured (duplicates, retries).
    options = ["--numprocesses=0", "-rP", "--durations=10"]
    run(PYTHON, "-m", "pytest", "tests/topology", *options, *pytest_args, env=env)


def cmd_lock() -> None:
    ensure_venv()
    run(PYTHON, "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}")
    common = [
        "pip",
        "compile",
        "pyproject.toml",
        "--quiet",
        "--python-version",
        "3.11",
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--custom-compile-command",
        "python3 make.py lock",
    ]
    run(BIN / "uv", *common, "-o", "requirements.lock")
    run(BIN / "uv", *common, "--extra", "test", "-o", "requirements-dev.lock")


def main() -> None:
    commands = {"run": cmd_run, "test": cmd_test, "test-topology": cmd_test_topology, "lock": cmd_lock}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "test":
        cmd_test(sys.argv[2:])
    elif sys.argv[1] == "test-topology":
        cmd_test_topology(sys.argv[2:])
    else:
        commands[sys.argv[1]]()  # type: ignore[operator]


if __name__ == "__main__":
    main()
