"""Error reports to Sentry, when EMPORIUM_SENTRY_DSN is set: the exception and where it happened, with the
request id and the user id as tags, and no personal data (docs/decisions.md "Error reports").

Unset, nothing is initialised and nothing is sent. The SDK's web framework integrations stay off (they
would attach headers, cookies and bodies); the request middleware and the job runner report themselves.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import sentry_sdk
import structlog

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

    from emporium.core.config import Settings

_EMAIL = re.compile(r"[^\s@<>\"'(),;:]+@[^\s@<>\"'(),;:]+\.[A-Za-z]{2,}")
# A bearer token or a JWT named in an exception message.
_TOKEN = re.compile(r"(?i)\bbearer\s+\S+|\beyJ[\w-]+\.[\w-]+\.[\w-]*")
# What an event may carry besides the exception: the SDK's own keys that never hold request data.
_KEPT_KEYS = frozenset(
    {
        "event_id", "timestamp", "level", "platform", "logger", "release", "environment", "server_name",
        "sdk", "exception", "message", "logentry", "tags", "contexts", "fingerprint", "transaction",
        "modules", "type",
    }
)  # fmt: skip
# Of the contexts, the runtime and machine only ("request" or "user" never survive).
_KEPT_CONTEXTS = frozenset({"runtime", "os", "device", "trace", "job", "route"})


def init_sentry(settings: Settings) -> bool:
    """Start reporting for this process if a DSN is set; once per process (a second call with the same
    DSN is a no-op). Returns whether reporting is on."""
    if settings.sentry_dsn is None:
        return False
    dsn = settings.sentry_dsn.get_secret_value()
    client = sentry_sdk.get_client()
    if client.is_active() and client.dsn == dsn:
        return True
    sentry_sdk.init(
        dsn=dsn,
        environment=settings.sentry_environment or settings.env,
        # send_default_pii is left unset, which is off: this SDK release deprecates passing it at all.
        include_local_variables=False,
        max_request_body_size="never",
        # Breadcrumbs would carry log messages and outgoing URLs (with their query strings).
        max_breadcrumbs=0,
        # The framework, database and HTTP client integrations read requests and queries: kept off.
        auto_enabling_integrations=False,
        # No performance traces: without the framework integrations there would be no transactions anyway.
        traces_sample_rate=None,
        before_send=scrub_event,
    )
    return True


def enabled() -> bool:
    client = sentry_sdk.get_client()
    return client.is_active() and client.dsn is not None


def scrub(text: str) -> str:
    """E-mail addresses and bearer tokens out of a message an exception or a log line wrote."""
    return _TOKEN.sub("[token]", _EMAIL.sub("[email]", text))


def scrub_event(event: Event, hint: Hint) -> Event:
    """The last word on what leaves: no request, user, local variables, breadcrumbs or extra data, and
    no e-mail address or bearer token in exception messages."""
    for key in [key for key in event if key not in _KEPT_KEYS]:
        del event[key]  # type: ignore[misc]
    contexts = event.get("contexts") or {}
    event["contexts"] = {name: value for name, value in contexts.items() if name in _KEPT_CONTEXTS}
    for exception in (event.get("exception") or {}).get("values") or []:
        if isinstance(exception.get("value"), str):
            exception["value"] = scrub(exception["value"])
        for frame in (exception.get("stacktrace") or {}).get("frames") or []:
            frame.pop("vars", None)
    for holder, field in ((event.get("logentry"), "message"), (event.get("logentry"), "formatted")):
        if isinstance(holder, dict) and isinstance(holder.get(field), str):
            holder[field] = scrub(holder[field])
    if isinstance(event.get("message"), str):
        event["message"] = scrub(event["message"])
    return event


def report_request_error(exc: BaseException, *, request_id: str, method: str, route: str) -> None:
    """An unhandled exception in a request, tagged with the request id and the user id the logs bind.

    The route template, not the path: a path may hold a token (a password-reset link)."""
    if not enabled():
        return
    bound: dict[str, Any] = structlog.contextvars.get_contextvars()
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("request_id", request_id)
        if bound.get("user_id") is not None:
            scope.set_tag("user_id", str(bound["user_id"]))
        scope.set_context("route", {"method": method, "route": route})
        scope.set_transaction_name(f"{method} {route}")
        sentry_sdk.capture_exception(exc)


def report_job_failure(exc: BaseException, *, job: str, job_id: int, attempts: int) -> None:
    """A job that is dead: its name and id, never its payload (it may hold an address)."""
    if not enabled():
        return
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("job", job)
        scope.set_tag("job_id", str(job_id))
        scope.set_context("job", {"name": job, "id": job_id, "attempts": attempts})
        scope.set_transaction_name(f"job {job}")
        sentry_sdk.capture_exception(exc)
