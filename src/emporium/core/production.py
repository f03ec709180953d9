"""What production asks of the settings beyond their types: secrets that cannot be guessed.
``config.Settings`` calls these when ``EMPORIUM_ENV=production``; every problem names the setting to change.
What production asks of the payment methods (no simulated money, only gateways that can take money) is in
payments/config.py."""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emporium.core.config import Settings

# An estimate of a secret's randomness from its own characters (length x Shannon entropy per character):
# 32 x "a" scores 0, "password" typed four times 88, a random 32-character hex key at least 93 (the least
# of 100,000 draws) and token_urlsafe(48) about 340. It catches the keys a person types, not every weak one.
MIN_SECRET_BITS = 90
MAKE_A_SECRET = 'make one with: python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105


def estimated_bits(secret: str) -> float:
    if not secret:
        return 0.0
    counts = Counter(secret)
    size = len(secret)
    per_char = -sum(n / size * math.log2(n / size) for n in counts.values())
    return per_char * size


def weak_secret(secret: str) -> bool:
    return estimated_bits(secret) < MIN_SECRET_BITS


def production_problems(settings: Settings) -> list[str]:
    """Problems beyond the secret key's own check (in ``config``), each naming its setting."""
    problems = []
    if settings.metrics_token is not None and weak_secret(settings.metrics_token.get_secret_value()):
        problems.append(f"EMPORIUM_METRICS_TOKEN is too easy to guess ({MAKE_A_SECRET})")
    return problems
