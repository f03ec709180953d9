"""Run as a script by test_periodic_processes.py: an ``emporium`` command (``worker``, ``serve --port N``)
with one more periodic job, ``test.tick``, due every TICK_EVERY_SECONDS. Each run appends a line, the period
it is for and the process that ran it, to the file TICK_LOG: the test counts the runs of each period there.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from emporium.cli import app
from emporium.core.context import AppContext
from emporium.wiring import Wiring

TICK_JOB = "test.tick"


async def tick(ctx: AppContext, payload: dict[str, Any]) -> None:
    line = f"{payload['period']} {os.getpid()}\n".encode()
    # One write with O_APPEND: lines from several processes never interleave.
    descriptor = os.open(os.environ["TICK_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def main() -> None:
    wiring = Wiring()
    wiring.job(TICK_JOB, tick)
    wiring.periodic(TICK_JOB, every_seconds=int(os.environ["TICK_EVERY_SECONDS"]))
    app(sys.argv[1:], prog_name="emporium")


if __name__ == "__main__":
    main()
