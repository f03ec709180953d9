"""Logs every pass of the garbage collector of a process that takes longer than 5 ms, with the seconds
since the process started (the passes of start-up come first).

Put this folder first on ``PYTHONPATH`` of the process to watch (Python imports ``sitecustomize`` at
start-up); each process appends to ``$GC_PAUSES_DIR/gc-<pid>.log`` (default: the system's temp dir):

    PYTHONPATH=bench/gc_pauses .venv/bin/emporium serve --port 8020 --workers 2 &
    bash bench/catalog_wrk.sh; cat /tmp/gc-*.log
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
from typing import Any

_SLOW_MS = 5.0
_started: list[float] = [0.0]
_loaded = time.perf_counter()
_log = os.path.join(os.environ.get("GC_PAUSES_DIR", tempfile.gettempdir()), "gc-{pid}.log")


def _watch(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.perf_counter()
        return
    paused = (time.perf_counter() - _started[0]) * 1000
    if paused > _SLOW_MS:
        with open(_log.format(pid=os.getpid()), "a") as log:
            uptime = time.perf_counter() - _loaded
            generation, collected = info["generation"], info["collected"]
            log.write(f"{uptime:7.1f} s: generation {generation}, {paused:.1f} ms, {collected} collected\n")


gc.callbacks.append(_watch)
