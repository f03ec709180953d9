"""The operations domain's error codes."""

from __future__ import annotations

from enum import StrEnum


class OperationsError(StrEnum):
    JOB_NOT_FOUND = "JOB_NOT_FOUND"
    JOB_NOT_DEAD = "JOB_NOT_DEAD"
