"""Routes of the catalog-io part of the catalog issue (being built)."""

from __future__ import annotations

from fastapi import APIRouter

from emporium.core.params import API_PREFIX

router = APIRouter(prefix=API_PREFIX, tags=["catalog-io"])
