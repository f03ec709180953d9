#!/usr/bin/env bash
# Storefront pages beside their API twins and a bare Starlette endpoint, with wrk (Debian package `wrk`),
# all in the same run. Loopback only; every measurement is bounded by DURATION after an unmeasured WARMUP.
#
#   EMPORIUM_DATABASE_URL=... .venv/bin/emporium migrate && .venv/bin/emporium demo [--products 100000]
#   EMPORIUM_RATE_LIMIT_READS=1000000000/minute [EMPORIUM_CATALOG_CACHE_TTL_SECONDS=0] \
#       .venv/bin/emporium serve --port 8020 [--workers 2] &
#   .venv/bin/uvicorn --app-dir bench hello_app:app --port 8021 [--workers 2] --log-level warning &
#   bash bench/pages_wrk.sh
#
# Each page is measured as a first-time visitor sends it (no cookie) and, with REVALIDATE=1, as a browser
# that already holds the page (If-None-Match with the ETag the page answered).
set -euo pipefail
SHOP=${SHOP:-http://127.0.0.1:8020}
HELLO=${HELLO:-http://127.0.0.1:8021}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
PRODUCT=${PRODUCT:-kalakand}
CATEGORY=${CATEGORY:-sweet-shop}
QUERY=${QUERY:-choclate}
HERE=$(cd "$(dirname "$0")" && pwd)

case "$SHOP$HELLO" in
  *127.0.0.1*|*localhost*) ;;
  *) echo "refusing: this benchmark only targets loopback addresses" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 2; }

measure() {
  local label=$1 url=$2
  shift 2
  local out rps non2xx
  if [[ -n "${ONLY:-}" && ! "$label" =~ $ONLY ]]; then return 0; fi
  sleep "${PAUSE:-3}"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP:-2s}" "$@" "$url" >/dev/null
  out=$(wrk --latency --timeout 10s -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" "$@" "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %-44s | %9s | %s |\n' "$label" "$rps" "${non2xx:-0}"
}

etag_of() {
  curl -s -o /dev/null -D - "$1" | awk 'tolower($1)=="etag:" {sub(/\r$/, ""); $1=""; sub(/^ /, ""); print}'
}

echo "| endpoint | req/s | non-2xx |"
echo "|---|---|---|"
measure "bare Starlette hello" "$HELLO/"
measure "GET /api/v1/products/featured" "$SHOP/api/v1/products/featured"
measure "page /" "$SHOP/"
measure "GET /api/v1/products?category=$CATEGORY&limit=24" "$SHOP/api/v1/products?category=$CATEGORY&limit=24"
measure "page /c/$CATEGORY" "$SHOP/c/$CATEGORY"
measure "GET /api/v1/products/$PRODUCT" "$SHOP/api/v1/products/$PRODUCT"
measure "page /p/$PRODUCT" "$SHOP/p/$PRODUCT"
measure "GET /api/v1/products/search?q=$QUERY&limit=24" "$SHOP/api/v1/products/search?q=$QUERY&limit=24"
measure "page /search?q=$QUERY" "$SHOP/search?q=$QUERY"
if [[ "${REVALIDATE:-0}" == 1 ]]; then
  for path in "/" "/c/$CATEGORY" "/p/$PRODUCT" "/search?q=$QUERY"; do
    tag=$(etag_of "$SHOP$path")
    # A 304 is not 2xx for wrk: the non-2xx column counts the revalidated answers here.
    [[ -n "$tag" ]] && measure "page $path (If-None-Match, 304)" "$SHOP$path" -H "If-None-Match: $tag"
  done
fi
measure "bare Starlette hello (again)" "$HELLO/"
