#!/usr/bin/env bash
# A storefront page through nginx, with and without the micro-cache of deploy/nginx/microcache.conf, beside
# the page straight from the shop and the bare Starlette endpoint, with wrk, in the same run. It runs an
# nginx of its own (its own prefix, config, pid and ports under a temporary directory) and stops it at the
# end. Loopback only; every measurement is bounded by DURATION after an unmeasured WARMUP.
#
#   EMPORIUM_RATE_LIMIT_READS=1000000000/minute .venv/bin/emporium serve --port 8020 --workers 2 &
#   .venv/bin/uvicorn --app-dir bench hello_app:app --port 8021 --workers 2 --log-level warning &
#   bash bench/nginx_microcache.sh                      # PAGES="/p/kalakand /c/sweet-shop" to choose
set -euo pipefail
SHOP=${SHOP:-127.0.0.1:8020}
HELLO=${HELLO:-http://127.0.0.1:8021}
PLAIN_PORT=${PLAIN_PORT:-18740}
CACHED_PORT=${CACHED_PORT:-18741}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-8}
THREADS=${THREADS:-2}
PAGES=${PAGES:-"/p/kalakand /c/sweet-shop / /search?q=choclate"}
NGINX=${NGINX:-/usr/sbin/nginx}
HERE=$(cd "$(dirname "$0")" && pwd)
SNIPPETS=$(cd "$HERE/../deploy/nginx" && pwd)

case "$SHOP $HELLO" in
  127.0.0.1:*" "*127.0.0.1*|localhost:*" "*localhost*) ;;
  *) echo "refusing: this benchmark only targets loopback addresses" >&2; exit 2 ;;
esac
command -v wrk >/dev/null || { echo "install wrk first (apt-get install wrk)" >&2; exit 2; }

WORK=$(mktemp -d)
mkdir -p "$WORK/logs" "$WORK/cache"
# Started as root, nginx's workers run as nobody: they must be able to write the cache and temp files.
chmod 0755 "$WORK"
[[ $(id -u) == 0 ]] && chown nobody "$WORK/cache"
cleanup() {
  [[ -f "$WORK/nginx.pid" ]] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  [[ -s "$WORK/logs/error.log" ]] && { echo "nginx error log:"; tail -5 "$WORK/logs/error.log"; } >&2
  sleep 0.5
  rm -rf "$WORK"
}
trap cleanup EXIT

# The snippets as a site would include them, the cache directory moved under the temporary prefix.
sed "s|/var/cache/nginx/emporium-pages|$WORK/cache|" "$SNIPPETS/microcache-http.conf" >"$WORK/microcache-http.conf"
cp "$SNIPPETS/microcache.conf" "$WORK/microcache.conf"
cat >"$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $WORK/client_body;
    proxy_temp_path $WORK/proxy;
    fastcgi_temp_path $WORK/fastcgi;
    uwsgi_temp_path $WORK/uwsgi;
    scgi_temp_path $WORK/scgi;
    include $WORK/microcache-http.conf;
    upstream emporium { server $SHOP; keepalive 16; }
    server {
        listen 127.0.0.1:$PLAIN_PORT;
        location / {
            proxy_pass http://emporium;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host:\$server_port;
        }
    }
    server {
        listen 127.0.0.1:$CACHED_PORT;
        location / {
            proxy_pass http://emporium;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host:\$server_port;
            include $WORK/microcache.conf;
        }
    }
}
CONF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf"
sleep 0.5

measure() {
  local label=$1 url=$2 out rps non2xx
  sleep "${PAUSE:-3}"
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "${WARMUP:-2s}" "$url" >/dev/null
  out=$(wrk --latency --timeout 10s -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" "$url")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '| %-44s | %9s | %s |\n' "$label" "$rps" "${non2xx:-0}"
}

echo "| endpoint | req/s | non-2xx |"
echo "|---|---|---|"
measure "bare Starlette hello" "$HELLO/"
for page in $PAGES; do
  measure "page $page, straight from the shop" "http://$SHOP$page"
  measure "page $page, through nginx" "http://127.0.0.1:$PLAIN_PORT$page"
  status=$(curl -s -o /dev/null -D - "http://127.0.0.1:$CACHED_PORT$page" | awk 'tolower($1)=="x-cache-status:" {print $2}')
  measure "page $page, through nginx, micro-cached" "http://127.0.0.1:$CACHED_PORT$page"
  after=$(curl -s -o /dev/null -D - "http://127.0.0.1:$CACHED_PORT$page" | awk 'tolower($1)=="x-cache-status:" {print $2}')
  echo "|   (X-Cache-Status: first ${status%$'\r'}, after the run ${after%$'\r'}) | | |"
done
measure "bare Starlette hello (again)" "$HELLO/"
