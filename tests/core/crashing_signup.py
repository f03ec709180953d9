"""Run as a script by test_crash.py, configured by EMPORIUM_* variables.

Registers a customer through the API (the request's transaction commits, writing the welcome and
verification mails to the outbox), optionally claims the due jobs as a worker would (``--claim``), then
dies by SIGKILL before any mail is sent: no cleanup, no ``finally``, like a machine losing power.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import httpx

from emporium.app import create_app
from emporium.core.context import build_context
from emporium.settings import AppSettings


async def main(email: str, claim: bool) -> None:
    settings = AppSettings()
    assert not settings.jobs_run_in_process, "the jobs must not run in this process"
    ctx = build_context(settings)
    transport = httpx.ASGITransport(app=create_app(ctx=ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://shop.test") as http:
        response = await http.post(
            "/api/v1/auth/register",
            json={"email": email, "password": "correct horse battery staple", "first_name": "Crash"},
        )
    assert response.status_code == 201, response.text
    claimed = await ctx.jobs.claim() if claim else []
    print(json.dumps({"registered": email, "claimed": [job_id for job_id, _ in claimed]}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], "--claim" in sys.argv[2:]))
