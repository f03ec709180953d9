"""What the store registers in the wiring step (emporium/install.py): the stamp that changes with its
settings row, and the settings source that lays the stored profile over the environment's settings."""

from __future__ import annotations

from emporium.store.profile import VERSION_KEY, WATCHED_TABLES, effective_settings
from emporium.wiring import Wiring


def install(wiring: Wiring) -> None:
    wiring.cache_watch(WATCHED_TABLES, VERSION_KEY)
    wiring.settings_source(effective_settings)
