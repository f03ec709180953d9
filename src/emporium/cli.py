"""The ``emporium`` command: serve the shop, run migrations, load demo data, create an admin, run workers."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from emporium.core.config import Settings
from emporium.core.context import AppContext, build_context, job_runner
from emporium.core.migrations import upgrade
from emporium.settings import get_settings

app = typer.Typer(
    help="Emporium, an open-source commerce platform.", no_args_is_help=True, add_completion=False
)


def _context(settings: Settings) -> AppContext:
    """The context of every command that opens the database, the worker's included: wired as the app's."""
    # Imported here: the wiring step imports every domain, which `migrate`, `serve` and --help do not need.
    from emporium import install

    install.wire()
    return build_context(settings)


@app.command()
def migrate(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Bring the database schema up to date (creates the SQLite file if needed)."""
    settings = get_settings()
    upgrade(settings.migration_url, revision)
    typer.echo(f"Database is at revision {revision}.")


@app.command()
def demo(
    products: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=5_000_000,
            help="Top the catalog up to this many products (for benchmarks); these get no pictures.",
        ),
    ] = None,
    images: Annotated[
        bool,
        typer.Option(
            "--images/--no-images",
            help="Draw pictures for the curated products and store them in the configured media storage.",
        ),
    ] = True,
) -> None:
    """Load the demo data into the shop, once: running it again changes nothing.

    The curated products (about 160) get one or two generated pictures each, drawn with Pillow and
    stored like uploads; the bulk products of --products get none."""
    from emporium.demo.service import DEMO_CUSTOMER_EMAIL, DEMO_CUSTOMER_PASSWORD, load_demo, top_up_products

    async def run() -> tuple[bool, int]:
        ctx = _context(get_settings())
        try:
            loaded = await load_demo(ctx, images=images)
            if products is None:
                return loaded, 0
            async with ctx.db.session() as session:
                from emporium.demo.catalog import product_count

                missing = max(products - await product_count(session), 0)
            with typer.progressbar(length=missing, label="Generating products") as bar:
                added = await top_up_products(ctx, products, bar.update)
            return loaded, added
        finally:
            await ctx.close()

    loaded, added = asyncio.run(run())
    typer.echo("Demo data loaded." if loaded else "Demo data was already loaded; nothing changed.")
    if products is not None:
        typer.echo(f"Added {added} generated products (the catalog now holds at least {products}).")
    typer.echo(f"Demo customer: {DEMO_CUSTOMER_EMAIL} / {DEMO_CUSTOMER_PASSWORD}")


@app.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file to import.")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count, write nothing.")] = False,
) -> None:
    """Import products and variants from CSV: all or nothing, with a report naming each bad row."""
    from emporium.catalog.csv.service import import_catalog

    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise typer.BadParameter("the file is not UTF-8 text") from exc
    settings = get_settings()

    async def run() -> Any:
        ctx = _context(settings)
        try:
            rows = max(text.count("\n") - 1, 1)
            with typer.progressbar(length=rows, label="Importing") as bar:
                async with ctx.db.session() as session:
                    return await import_catalog(
                        session, text, currency=settings.currency, dry_run=dry_run, progress=bar.update
                    )
        finally:
            await ctx.close()

    report = asyncio.run(run())
    for error in report.errors:
        typer.echo(f"row {error.row}, {error.column or 'file'}: {error.message}", err=True)
    if report.errors:
        typer.echo(f"{len(report.errors)} problem(s); nothing was imported.", err=True)
        raise typer.Exit(1)
    verb = "Would import" if dry_run else "Imported"
    typer.echo(
        f"{verb} {report.rows} rows: {report.products_created} products created, {report.products_updated} "
        f"updated; {report.variants_created} variants created, {report.variants_updated} updated."
    )


@app.command("export")
def export_command(path: Annotated[Path, typer.Argument(dir_okay=False, help="CSV file to write.")]) -> None:
    """Export every product and variant to CSV, in the format `emporium import` reads."""
    from emporium.catalog.csv.service import load_export

    async def run() -> int:
        ctx = _context(get_settings())
        try:
            async with ctx.db.read_session() as session:
                lines = await load_export(session)
                count = -1
                with path.open("w", encoding="utf-8", newline="") as out:
                    for line in lines:
                        out.write(line)
                        count += 1
                return count
        finally:
            await ctx.close()

    typer.echo(f"Exported {asyncio.run(run())} variant rows to {path}.")


async def _ensure_admin(
    ctx: AppContext, email: str, password: str | None, reset: bool
) -> tuple[str, str | None]:
    """Create the super admin, or reuse it. Returns the e-mail and the password when one was set now."""
    from emporium.accounts.password_policy import password_problem
    from emporium.accounts.service import auth
    from emporium.core.permissions import Role

    if password is not None and (problem := password_problem(password)):
        raise typer.BadParameter(f"admin password refused: {problem}")
    async with ctx.db.session() as session:
        existing = await auth.user_by_email(session, email)
        if existing is None:
            password = password or secrets.token_urlsafe(12)
            await auth.create_user(
                session,
                ctx,
                email=email,
                password=password,
                role=Role.SUPER_ADMIN,
                first_name="Shop",
                last_name="Admin",
            )
            return email.lower(), password
        if password is None and not reset:
            if existing.role != Role.SUPER_ADMIN or not existing.is_active:
                # Anyone may register this address through the shop: never report such an account as
                # the admin, and never promote it silently.
                typer.echo(
                    f"Error: {existing.email} exists but is not an active super admin; "
                    "`emporium create-admin --reset` makes it one with a new password and ends its sessions.",
                    err=True,
                )
                raise typer.Exit(1)
            return existing.email, None
        password = password or secrets.token_urlsafe(12)
        await auth.make_super_admin(session, ctx, existing, password)
        return existing.email, password


def _print_admin(email: str, password: str | None) -> None:
    typer.echo(f"Admin e-mail:    {email}")
    if password:
        typer.echo(f"Admin password:  {password}")
    else:
        typer.echo(
            "Admin password:  unchanged (set at first setup; `emporium create-admin --reset` makes a new one)"
        )


@app.command("create-admin")
def create_admin(
    email: Annotated[str | None, typer.Option(help="Defaults to EMPORIUM_ADMIN_EMAIL.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Defaults to EMPORIUM_ADMIN_PASSWORD, else generated.")
    ] = None,
    reset: Annotated[bool, typer.Option(help="Give an existing admin a new generated password.")] = False,
) -> None:
    """Create the super admin (or reuse it) and print the e-mail and, when set now, the password."""
    settings = get_settings()
    email = email or settings.admin_email
    password = password or (settings.admin_password.get_secret_value() if settings.admin_password else None)

    async def run() -> tuple[str, str | None]:
        ctx = _context(settings)
        try:
            return await _ensure_admin(ctx, email, password, reset)
        finally:
            await ctx.close()

    _print_admin(*asyncio.run(run()))


@app.command()
def setup(
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the demo data once.")] = True,
) -> None:
    """Migrate, load the demo data once, make sure an admin exists and that the shop has a web push (VAPID)
    key pair. Safe to run again: keeps every row and every key."""
    migrate("head")
    if demo_data:
        demo(products=None)
    create_admin(email=None, password=None, reset=False)
    _ensure_vapid_keys(Path(ENV_FILE))


ENV_FILE = ".env"


def _ensure_vapid_keys(env_file: Path) -> None:
    """Make the shop's VAPID key pair when neither half is set, and keep it in the .env file the settings
    read, beside the other settings (the environment stays the home of secrets: nothing goes to the
    database). A pair set by the environment, or by an earlier run, is kept as it is."""
    from emporium.notifications.vapid import generate_keys

    settings = get_settings()
    if settings.vapid_private_key is not None or settings.vapid_public_key:
        if not settings.push_configured:
            typer.echo(
                "Web push: set both EMPORIUM_VAPID_PRIVATE_KEY and EMPORIUM_VAPID_PUBLIC_KEY.", err=True
            )
        else:
            typer.echo("Web push keys: unchanged.")
        return
    keys = generate_keys()
    existing = env_file.read_text() if env_file.exists() else ""
    lines = [
        "" if not existing or existing.endswith("\n") else "\n",
        "# Web push (VAPID) keys made by `emporium setup`: keep them, or browsers must subscribe again.\n",
        f"EMPORIUM_VAPID_PRIVATE_KEY={keys.private_key}\n",
        f"EMPORIUM_VAPID_PUBLIC_KEY={keys.public_key}\n",
    ]
    descriptor = os.open(env_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as handle:
        handle.write("".join(lines))
    get_settings.cache_clear()
    typer.echo(f"Web push keys: made and kept in {env_file}.")


def _media_place(settings: Any) -> Any:
    from emporium.operations.backup import MediaPlace

    return MediaPlace(storage=settings.media_storage, root=Path(settings.media_dir).resolve())


PgBinDir = Annotated[
    Path | None,
    typer.Option(
        file_okay=False,
        help="Folder of pg_dump and pg_restore (default: the ones matching the server's major version).",
    ),
]


@app.command()
def backup(
    archive: Annotated[
        Path | None,
        typer.Argument(
            dir_okay=False, help="Archive to write (.tar, or .tar.gz to compress); default: a dated name."
        ),
    ] = None,
    pg_bin_dir: PgBinDir = None,
) -> None:
    """Write one archive with a consistent dump of the database, the local media files and a manifest."""
    from emporium.operations.backup import BackupError, create_backup

    settings = get_settings()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = (archive or Path(f"emporium-backup-{stamp}.tar")).resolve()
    try:
        done = asyncio.run(
            create_backup(settings.migration_url, _media_place(settings), target, pg_bin_dir=pg_bin_dir)
        )
    except BackupError as exc:
        typer.echo(f"Error: backup failed: {exc}", err=True)
        raise typer.Exit(1) from None
    manifest = done.manifest
    typer.echo(
        f"Backed up the {manifest.database_kind} database (revision {', '.join(manifest.migration_heads)}) "
        f"and {manifest.media_files} media file(s) to {done.archive} ({done.size} bytes)."
    )
    for note in done.notes:
        typer.echo(note)


@app.command()
def restore(
    archive: Annotated[
        Path,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="An archive of `emporium backup`."),
    ],
    pg_bin_dir: PgBinDir = None,
) -> None:
    """Restore an archive into the configured database, which must be empty, and the media folder.

    The manifest and every checksum are checked first; a mismatch changes nothing."""
    from emporium.operations.backup import BackupError, restore_backup

    settings = get_settings()
    try:
        done = asyncio.run(
            restore_backup(settings.migration_url, _media_place(settings), archive, pg_bin_dir=pg_bin_dir)
        )
    except BackupError as exc:
        typer.echo(f"Error: restore failed: {exc}", err=True)
        raise typer.Exit(1) from None
    manifest = done.manifest
    typer.echo(
        f"Restored the {manifest.database_kind} database of {manifest.created_at} "
        f"(revision {', '.join(manifest.migration_heads)}) and {manifest.media_files} media file(s)."
    )
    for note in done.notes:
        typer.echo(note)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="EMPORIUM_PORT", help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Web processes (each runs the job relay unless disabled).")
    ] = 1,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the shop and its API (docs at /api/docs) with uvicorn."""
    import uvicorn

    # The app (in this process or in uvicorn's workers) reads the served port from the environment, so its
    # links, e-mails and sitemaps name this port unless EMPORIUM_PUBLIC_URL says otherwise.
    os.environ["EMPORIUM_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    if workers > 1 and not reload and not settings.redis_url and settings.rate_limit_storage == "memory":
        # Each process would count on its own: N workers would allow N times every limit and lockout.
        typer.echo(
            f"Error: --workers {workers} needs rate limits and sign-in lockouts that every worker shares, "
            "and EMPORIUM_RATE_LIMIT_STORAGE=memory counts them in each process. Set EMPORIUM_REDIS_URL, or "
            "EMPORIUM_RATE_LIMIT_STORAGE=file (the default), or serve with --workers 1.",
            err=True,
        )
        raise typer.Exit(2)
    typer.echo(
        f"{settings.shop_name} is starting on http://{host}:{port}  "
        f"(back office: http://{host}:{port}/admin, API docs: http://{host}:{port}/api/docs)"
    )
    uvicorn.run(**uvicorn_options(settings, host=host, port=port, workers=workers, reload=reload))


def uvicorn_options(
    settings: Settings, *, host: str, port: int, workers: int, reload: bool
) -> dict[str, Any]:
    """What `emporium serve` hands to ``uvicorn.run`` (and so to ``uvicorn.Config``)."""
    return {
        "app": "emporium.app:serve_app",
        "factory": True,
        "host": host,
        "port": port,
        "workers": None if reload else workers,
        "reload": reload,
        # X-Forwarded-For is read by the app, and only from EMPORIUM_TRUSTED_PROXIES (core/proxies.py);
        # uvicorn's own reading would believe any local connection.
        "proxy_headers": False,
        "log_config": None,
        "access_log": False,
        "timeout_worker_healthcheck": settings.serve_healthcheck_timeout_seconds,
    }


@app.command()
def worker(
    once: Annotated[
        bool,
        typer.Option(help="Run the jobs that are due now in this process (even with a broker), then exit."),
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, help="Jobs run at once (with a broker).")] = 10,
) -> None:
    """Run background jobs: from the broker if EMPORIUM_JOBS_BROKER_URL is set, else from the outbox table."""
    settings = get_settings()
    from emporium.core.logging import configure_logging
    from emporium.core.sentry import init_sentry

    configure_logging(settings.log_level, json=settings.log_json)
    init_sentry(settings)
    if settings.metrics_dir is not None:
        # Its job counts join the web processes' at /metrics.
        from emporium.core.metrics import use_directory

        use_directory(settings.metrics_dir)

    async def run() -> None:
        ctx = _context(settings)
        if once:
            # "Run the jobs due now" means here: handed to a broker they would still be waiting at exit.
            from emporium.core.jobs.brokers import make_broker

            ctx.jobs = job_runner(ctx, broker=make_broker(None))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await ctx.jobs.start(consumer=not once and not ctx.jobs.in_process)
            if once:
                count = await ctx.jobs.run_until_idle()
                typer.echo(f"Ran {count} job(s).")
                return
            tasks = [asyncio.create_task(ctx.jobs.run_forever(stop))]
            if not ctx.jobs.in_process:
                tasks.append(asyncio.create_task(ctx.jobs.consume(stop, concurrency)))
            await asyncio.gather(*tasks)
        finally:
            await ctx.close()

    asyncio.run(run())


cluster_app = typer.Typer(
    help="The scaled-out shape on one machine (nginx, app processes, workers, PgBouncer, PostgreSQL, Redis).",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")
StateDir = Annotated[
    Path, typer.Option(file_okay=False, help="Where the cluster keeps its data, configuration and logs.")
]


@cluster_app.command("up")
def cluster_up(
    state_dir: StateDir = Path("var/cluster"),
    apps: Annotated[int, typer.Option(min=1, max=32, help="App processes behind nginx.")] = 3,
    workers: Annotated[int, typer.Option(min=0, max=16, help="`emporium worker` processes.")] = 2,
    base_port: Annotated[
        int, typer.Option(min=1024, max=65000, help="nginx's port; the other parts take the next ones.")
    ] = 7400,
    broker: Annotated[
        str, typer.Option(help='"redis" (the cluster\'s own) or a broker URL such as amqp://.../vhost.')
    ] = "redis",
    demo_data: Annotated[bool, typer.Option("--demo/--no-demo", help="Load the demo data once.")] = False,
    replica: Annotated[
        bool, typer.Option("--replica/--no-replica", help="A streaming replica answers the anonymous reads.")
    ] = False,
) -> None:
    """Start the whole shape and watch over it (a part that dies is started again); Ctrl-C stops it."""
    from emporium.operations.cluster import supervise, up
    from emporium.operations.cluster_files import ClusterError, ClusterPlan

    # The caller's own settings (EMPORIUM_ENV, the SMTP server, limits...) reach every process of the shape.
    own = {key: value for key, value in os.environ.items() if key.startswith("EMPORIUM_")}
    plan = ClusterPlan(
        state_dir=state_dir.resolve(),
        apps=apps,
        workers=workers,
        base_port=base_port,
        broker=broker,
        replica=replica,
        extra_env=own,
    )
    try:
        supervisor = up(plan, demo=demo_data)
    except ClusterError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    parts = f"{apps} app processes, {workers} workers" + (", a read replica" if replica else "")
    typer.echo(f"The shop is up at {plan.public_url} ({parts}).", err=True)
    supervise(supervisor)


@cluster_app.command("down")
def cluster_down(state_dir: StateDir = Path("var/cluster")) -> None:
    """Stop a cluster started with `emporium cluster up`."""
    from emporium.operations.cluster import down
    from emporium.operations.cluster_files import ClusterError

    try:
        stopped = down(state_dir.resolve())
    except ClusterError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None
    if not stopped:
        typer.echo("Error: the cluster did not stop in time.", err=True)
        raise typer.Exit(1)
    typer.echo("Stopped.")


@cluster_app.command("status")
def cluster_status(state_dir: StateDir = Path("var/cluster")) -> None:
    """Each part of the cluster: its pid, port, whether it runs and how often it was started again."""
    from emporium.operations.cluster import status_lines
    from emporium.operations.cluster_files import ClusterError

    try:
        typer.echo("\n".join(status_lines(state_dir.resolve())))
    except ClusterError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from None


if __name__ == "__main__":  # pragma: no cover
    app()
