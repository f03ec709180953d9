"""Imports every module that registers something at import time: job handlers and privacy hooks.

The app, the worker and the CLI call ``load()`` so that all of them know the same jobs.
"""

from __future__ import annotations

import importlib

MODULES = (
    "emporium.notifications.tasks",
    "emporium.notifications.privacy",
    "emporium.catalog.media.service",
    "emporium.catalog.cache",
    "emporium.cart.tasks",
    "emporium.orders.tasks",
    "emporium.orders.privacy",
    "emporium.payments.tasks",
    "emporium.payments.gateways.bitcoin.tasks",
    "emporium.payments.gateways.lightning.tasks",
)


def load() -> None:
    for module in MODULES:
        importlib.import_module(module)
