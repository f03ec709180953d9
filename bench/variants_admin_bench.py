"""Saving a product with 100 variants in the back office's variant editor: server time per save, next to
the bare ``/health`` measured in the same run (the machine's noise).

    export EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench_backoffice
    EMPORIUM_AUTH_RATE_LIMIT=100000/minute EMPORIUM_RATE_LIMIT_STAFF=1000000000/minute \\
        EMPORIUM_RATE_LIMIT_FILE=/tmp/variants-bench-limits.db \\
        .venv/bin/emporium serve --port 8041 --workers 1 >> /tmp/variants-access.log 2>&1 &
    .venv/bin/python bench/variants_admin_bench.py --url http://127.0.0.1:8041 \\
        --server-log /tmp/variants-access.log --requests 100 --warmup 10

The seeded admin (bench/seed_backoffice.py) creates a product through the API, gives it 10 sizes by 10
colours with the option builder (100 variants, each with a pool of its own), then saves the whole grid
``--requests`` times. Every save changes all 100 prices and all 100 pools' counts (alternating between two
sets of values), so each one writes 100 variants, 100 pools, 100 stock adjustments and 200 audit entries.
The product is deleted at the end (it was never sold). Server times come from the app's access log
(``duration_ms`` under the request id the client sends), as in bench/backoffice_bench.py. Targets only
loopback addresses.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid
from html import unescape
from pathlib import Path

import httpx
from backoffice_bench import STAFF_PASSWORD, ServerLog, _quantiles, require_loopback, sign_in

LOGIN = "admin@bench.emporium.localhost"
TARGET_MS = 300.0
_INPUT = re.compile(r"<input\b([^>]*)>")
_SELECT = re.compile(r'<select\b[^>]*name="([^"]+)"[^>]*>(.*?)</select>', re.S)
_ATTR = re.compile(r'([a-z_-]+)(?:="([^"]*)")?')


def form_fields(html: str, action: str) -> dict[str, str]:
    """What a browser sends from the form posting to ``action``."""
    start = html.index(f'action="{action}"')
    body = html[start : html.index("</form>", start)]
    fields: dict[str, str] = {}
    for text in _INPUT.findall(body):
        attrs = {k: unescape(v or "") for k, v in _ATTR.findall(text)}
        if "name" not in attrs or (attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs):
            continue
        fields[attrs["name"]] = attrs.get("value", "")
    for name, options in _SELECT.findall(body):
        chosen = re.search(r'<option value="([^"]*)"[^>]*selected', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        if chosen:
            fields[name] = unescape(chosen.group(1))
    return fields


async def make_product(url: str, password: str) -> tuple[int, dict[str, str]]:
    """A new product of 100 variants; its id and the API's bearer header (to delete it after)."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as api:
        login = await api.post("/api/v1/auth/login", json={"email": LOGIN, "password": password})
        if login.status_code != 200:
            raise SystemExit(f"API sign-in failed: {login.status_code} {login.text[:200]}")
        headers = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        tag = uuid.uuid4().hex[:8].upper()
        body = {
            "name": f"Bench Tee {tag}",
            "status": "draft",
            "variants": [{"sku": f"BENCH-{tag}", "price": "10.00"}],
        }
        made = await api.post("/api/v1/products", json=body, headers=headers)
        if made.status_code != 201:
            raise SystemExit(f"creating the product failed: {made.status_code} {made.text[:200]}")
        return int(made.json()["data"]["id"]), headers


async def build_grid(client: httpx.AsyncClient, product_id: int) -> None:
    action = f"/admin/products/{product_id}/variants/options"
    page = await client.get(f"/admin/products/{product_id}/variants")
    fields = form_fields(page.text, action)
    fields |= {
        "option_name.0": "Size",
        "option_values.0": ", ".join(f"S{n}" for n in range(10)),
        "option_name.1": "Colour",
        "option_values.1": ", ".join(f"C{n}" for n in range(10)),
        "new_price": "10.00",
    }
    built = await client.post(action, data=fields)
    if built.status_code != 303:
        raise SystemExit(f"the option builder answered {built.status_code}")


def variations(fields: dict[str, str]) -> list[dict[str, str]]:
    """Two versions of the grid that differ in every price and every pool's count."""
    rows = [key.split(".")[1] for key in fields if key.startswith("sku.")]
    pools = [key.split(".")[1] for key in fields if key.startswith("on_hand.")]
    if len(rows) != 100:
        raise SystemExit(f"the grid has {len(rows)} rows, not 100")
    versions = []
    for shift in (0, 1):
        version = dict(fields)
        for n, vid in enumerate(rows):
            version[f"price.{vid}"] = f"{20 + n + shift}.00"
        for n, pid in enumerate(pools):
            version[f"on_hand.{pid}"] = str(50 + n + shift)
        versions.append(version)
    return versions


async def measure(args: argparse.Namespace) -> None:
    require_loopback(args.url)
    product_id, api_headers = await make_product(args.url, args.password)
    client = await sign_in(args.url, LOGIN, args.password)
    log = ServerLog(Path(args.server_log) if args.server_log else None)
    url = f"/admin/products/{product_id}/variants"
    saves: list[str] = []
    bare: list[str] = []
    client_ms: list[float] = []
    try:
        await build_grid(client, product_id)
        versions = variations(form_fields((await client.get(url)).text, url))
        for n in range(args.warmup + args.requests):
            request_id = f"bench-{uuid.uuid4().hex}"
            started = time.perf_counter()
            saved = await client.post(url, data=versions[n % 2], headers={"X-Request-ID": request_id})
            took = (time.perf_counter() - started) * 1000
            if saved.status_code != 303:
                raise SystemExit(f"save {n} answered {saved.status_code}: {saved.text[:300]}")
            health_id = f"bench-{uuid.uuid4().hex}"
            await client.get("/health", headers={"X-Request-ID": health_id})
            if n >= args.warmup:
                saves.append(request_id)
                bare.append(health_id)
                client_ms.append(took)
        await asyncio.sleep(0.3)
        logged = await asyncio.to_thread(log.durations)
    finally:
        await client.aclose()
        async with httpx.AsyncClient(base_url=args.url, timeout=60) as api:
            await api.delete(f"/api/v1/products/{product_id}", headers=api_headers)
    print(f"{args.requests} saves of a 100-variant product (100 prices, 100 pool counts each); times in ms")
    c50, c95, cmax = _quantiles(client_ms)
    print(f"client              p50 {c50:7.1f}  p95 {c95:7.1f}  max {cmax:7.1f}")
    for label, ids in (("server, save", saves), ("server, /health", bare)):
        times = [logged[r] for r in ids if r in logged]
        if not times:
            print(f"{label:19} (no --server-log lines)")
            continue
        s50, s95, smax = _quantiles(times)
        verdict = "" if "health" in label else ("ok" if s95 < TARGET_MS else "OVER")
        print(f"{label:19} p50 {s50:7.1f}  p95 {s95:7.1f}  max {smax:7.1f}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8041")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--password", default=STAFF_PASSWORD)
    parser.add_argument("--server-log", help="the file the server's access log lines go to")
    args = parser.parse_args()
    if not 2 <= args.requests <= 10_000 or not 0 <= args.warmup <= 1_000:
        raise SystemExit("requests must be 2..10000 and warmup 0..1000")
    asyncio.run(measure(args))


if __name__ == "__main__":
    main()
