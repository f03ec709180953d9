#!/usr/bin/env bash
# Before and after on one database: serves two checkouts of Emporium side by side against the same rows and
# measures them in turns (A, B, A, B, ...) with catalog_wrk.sh and checkout_bench.py, so that a refactor is
# compared with its parent in the same run on a noisy machine. Loopback only.
#
#   git worktree add /tmp/emporium-before <rev>
#   EMPORIUM_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/emporium_bench \
#       .venv/bin/emporium migrate && .venv/bin/emporium demo --products 100000 --no-images
#   EMPORIUM_DATABASE_URL=... A=/tmp/emporium-before B=. ROUNDS=2 bash bench/ab_trees.sh
#
# Each tree runs with its own sources first on PYTHONPATH and this checkout's virtualenv.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
A=$(cd "${A:?the first tree}" && pwd)
B=$(cd "${B:?the second tree}" && pwd)
ROUNDS=${ROUNDS:-2}
PY="$ROOT/.venv/bin/python"
: "${EMPORIUM_DATABASE_URL:?the benchmark database}"
case "$EMPORIUM_DATABASE_URL" in *127.0.0.1*|*localhost*) ;; *) echo "refusing: loopback only" >&2; exit 2 ;; esac
export EMPORIUM_CATALOG_CACHE_TTL_SECONDS=0 EMPORIUM_RATE_LIMIT_READS=1000000000/minute
export EMPORIUM_RATE_LIMIT_CHECKOUT=1000000/minute EMPORIUM_GUEST_CHECKOUT_RATE_LIMIT=1000000/minute
# Every bench buyer is one guest at one address: lift the open-order caps (0 = no cap).
export EMPORIUM_OPEN_ORDERS_PER_EMAIL=0 EMPORIUM_OPEN_ORDERS_PER_PHONE=0 EMPORIUM_OPEN_ORDERS_PER_CLIENT_ADDRESS=0
export ONLY=${ONLY:-'hello|GET /products \(page|sort=price_asc|search\?q=chocolate|search\?q=choclate|page /c/apparel'}
export DURATION=${DURATION:-8s} PAUSE=${PAUSE:-2} CONNECTIONS=${CONNECTIONS:-8}

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

serve() {  # tree port
  (cd "$1" && PYTHONPATH="$1/src" EMPORIUM_PORT=$2 exec "$PY" -c 'from emporium.cli import app; app()' \
    serve --port "$2" --workers 2 >"/tmp/ab_trees_$2.log" 2>&1) &
  pids+=($!)
}
wait_for() { for _ in $(seq 120); do curl -fs "http://127.0.0.1:$1/health" >/dev/null && return; sleep 0.5; done; exit 1; }

serve "$A" 8040
serve "$B" 8042
"$ROOT/.venv/bin/uvicorn" --app-dir "$HERE" hello_app:app --port 8041 --workers 2 --log-level warning &
pids+=($!)
wait_for 8040; wait_for 8042; sleep 2

for round in $(seq "$ROUNDS"); do
  for side in A B; do
    port=$([[ $side == A ]] && echo 8040 || echo 8042)
    echo "### round $round, $side ($([[ $side == A ]] && echo "$A" || echo "$B"))"
    SHOP=http://127.0.0.1:$port HELLO=http://127.0.0.1:8041 bash "$HERE/catalog_wrk.sh"
    "$PY" "$HERE/checkout_bench.py" --url "http://127.0.0.1:$port" --scenario spread \
      --buyers "${BUYERS:-1000}" --concurrency "${CHECKOUT_CONCURRENCY:-32}" | tail -n 6
  done
done
