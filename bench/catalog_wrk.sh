#!/usr/bin/env bash
# Catalog load test with wrk (Debian package `wrk`): list, detail and search of a running shop, next to a
# bare Starlette endpoint measured in the same run. Loopback only; every run is bounded by DURATION, after
# an unmeasured WARMUP run of the same endpoint.
#
#   EMPORIUM_DATABASE_URL=postgresql+asyncpg://... .venv/bin/emporium demo --products 100000
#   EMPORIUM_CATALOG_CACHE_TTL_SECONDS=0 .venv/bin/emporium serve --port 8020 --workers 2 &
#   (every request comes from one address: serve with EMPORIUM_RATE_LIMIT_READS=1000000000/minute, or the
#   reads limit answers most of them with 429, which wrk counts as non-2xx)
#   .venv/bin/uvicorn --app-dir bench hello_app:app --port 8021 --workers 2 --log-level warning &
#   bash bench/catalog_wrk.sh
#   ONLY='search|hello' CONNECTIONS=4 bash bench/catalog_wrk.sh    # a subset, at another concurrency
set -euo pipefail
SHOP=${SHOP:-http://127.0.0.1:8020}
HELLO=${HELLO:-http://127.0.0.1:8021}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
HERE=$(cd "$(dirname "$0")" && pwd)

case "$SHOP$HELLO" in
  *127.0.0.1*|*localhost*) ;;
  *) echo "refusing: this benchmark only targets loopback addresses" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 2; }

measure() {
  local label=$1 url=$2
  local out
  # ONLY=regex measures just the endpoints whose label matches (e.g. ONLY=search CONNECTIONS=4).
  if [[ -n "${ONLY:-}" && ! "$label" =~ $ONLY ]]; then return 0; fi
  # Let the server drain what the previous run left queued, so runs do not bleed into each other.
  sleep "${PAUSE:-5}"
  # Steady state only: the first requests after a start open pools and prepare statements (a p99 of
  # 300 ms against 40 ms in the next run).
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP:-2s}" "$url" >/dev/null
  out=$(wrk --latency --timeout 10s -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" -s "$HERE/p95.lua" "$url")
  local rps p50 p90 p95 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p90=$(awk '$1=="90%" {print $2}' <<<"$out")
  p95=$(awk '$1=="p95" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %-36s | %8s | %8s | %8s | %8s | %8s | %s |\n' "$label" "$rps" "$p50" "$p90" "$p95" "$p99" "${non2xx:-0}"
}

echo "| endpoint | req/s | p50 | p90 | p95 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|---|"
measure "bare Starlette hello" "$HELLO/"
measure "GET /products (page 1, 20)" "$SHOP/api/v1/products"
measure "GET /products?sort=price_asc&page=50" "$SHOP/api/v1/products?sort=price_asc&page=50"
measure "GET /products?category=sweet-shop" "$SHOP/api/v1/products?category=sweet-shop"
measure "GET /products/{slug}" "$SHOP/api/v1/products/gulab-jamun"
measure "GET /products/search?q=chocolate" "$SHOP/api/v1/products/search?q=chocolate"
measure "GET /products/search?q=choclate" "$SHOP/api/v1/products/search?q=choclate"
measure "GET /products/search?q=navy+hoodie" "$SHOP/api/v1/products/search?q=navy+hoodie"
measure "GET /products/autocomplete?q=gul" "$SHOP/api/v1/products/autocomplete?q=gul"
measure "GET /products/autocomplete?q=hedph" "$SHOP/api/v1/products/autocomplete?q=hedph"
measure "page /search?q=chocolate" "$SHOP/search?q=chocolate"
measure "page /c/apparel" "$SHOP/c/apparel"
measure "page /c/hoodies" "$SHOP/c/hoodies"
