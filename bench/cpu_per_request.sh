#!/usr/bin/env bash
# CPU time per request of the shop's workers and of PostgreSQL while wrk loads one URL: the ticks of
# /proc/<pid>/stat (user + system) before and after the run, over the requests wrk completed. Unlike
# req/s, this says where a request's time goes (the app or the database) on a machine shared with wrk.
#
#   EMPORIUM_CATALOG_CACHE_TTL_SECONDS=0 .venv/bin/emporium serve --port 8020 --workers 2 &
#   bash bench/cpu_per_request.sh "http://127.0.0.1:8020/api/v1/products/search?q=chocolate"
#   CONNECTIONS=4 DURATION=15s bash bench/cpu_per_request.sh URL...
set -euo pipefail
CONNECTIONS=${CONNECTIONS:-8}
DURATION=${DURATION:-8s}
# uvicorn's worker processes (the parent only supervises them) and every PostgreSQL backend.
WORKERS=${WORKERS:-multiprocessing.spawn import spawn_main}
DATABASE=${DATABASE:-postgres:}
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 2; }

ticks() {
  local total=0 pid
  for pid in $(pgrep -f "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

echo "| URL | req/s | workers, ms per request | PostgreSQL, ms per request |"
echo "|---|---|---|---|"
for url in "$@"; do
  case "$url" in
    http://127.0.0.1*|http://localhost*) ;;
    *) echo "refusing: this benchmark only targets loopback addresses" >&2; exit 2 ;;
  esac
  wrk -t 2 -c "$CONNECTIONS" -d 2s "$url" >/dev/null  # warm-up, unmeasured
  app0=$(ticks "$WORKERS"); db0=$(ticks "$DATABASE")
  out=$(wrk -t 2 -c "$CONNECTIONS" -d "$DURATION" "$url")
  app1=$(ticks "$WORKERS"); db1=$(ticks "$DATABASE")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  hz=$(getconf CLK_TCK)
  awk -v u="$url" -v r="$rps" -v n="$requests" -v a=$((app1 - app0)) -v d=$((db1 - db0)) -v hz="$hz" \
    'BEGIN { printf "| %s | %s | %.2f | %.2f |\n", u, r, a * 1000 / hz / n, d * 1000 / hz / n }'
done
