"""A bare Starlette "hello" endpoint: the ceiling of this machine and server setup, for comparison.

.venv/bin/uvicorn --app-dir bench hello_app:app --port 8021 --workers 2 --log-level warning
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def hello(_: Request) -> JSONResponse:
    return JSONResponse({"hello": "world"})


app = Starlette(routes=[Route("/", hello)])
