"""NIST-style password rules: length 8 to 128, no composition rules, refused when commonly used."""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

MIN_LENGTH = 8
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    data = files("emporium.accounts").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip() for line in gzip.decompress(data).decode().splitlines() if line.strip())


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in _common_passwords():
        return "This password is too common; choose another."
    return None


def check_new_password(password: str) -> str:
    """A Pydantic validator body: returns the password or raises ValueError with the reason."""
    problem = password_problem(password)
    if problem:
        raise ValueError(problem)
    return password
