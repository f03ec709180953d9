"""What both providers' webhooks share: the refusal, the opt-out keywords, and the URL a provider called."""

from __future__ import annotations

from emporium.core.config import Settings
from emporium.core.errors import BadRequest

WEBHOOK_INVALID = "WEBHOOK_INVALID"

# The keywords carriers and Twilio honour (CTIA's list), for SMS and WhatsApp alike: the first word of the
# message, whatever its case and punctuation.
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO"})
STOP, START, HELP = "STOP", "START", "HELP"


class WebhookRefused(BadRequest):
    code = WEBHOOK_INVALID
    message = "The webhook could not be verified."


def keyword(text: str) -> str | None:
    """STOP, START or HELP when the message is one of their keywords; None for anything else."""
    words = text.strip().upper().split()
    if len(words) != 1:
        return None
    word = words[0].strip(".!?")
    if word in STOP_WORDS:
        return STOP
    if word in START_WORDS:
        return START
    if word in HELP_WORDS:
        return HELP
    return None


def called_url(settings: Settings, path: str, query: bytes) -> str:
    """The URL the provider requested, as it signed it: the shop's public URL, the path and the query as
    they arrived. Never the request's Host (behind a proxy it is the proxy's upstream, and a client chooses
    it) nor its scheme."""
    url = settings.public_url.rstrip("/") + path
    return f"{url}?{query.decode('latin-1')}" if query else url
