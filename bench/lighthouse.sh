#!/usr/bin/env bash
# Lighthouse scores of the storefront (npm package `lighthouse`, a dev dependency in package.json) on the
# home page, one product page and the cart of a running shop, with Debian's chromium. Loopback only.
# Reports go to test-artifacts/lighthouse/; a markdown table of the four scores per page is printed.
#
#   npm install
#   EMPORIUM_DATABASE_URL=sqlite+aiosqlite:///$PWD/shop.db .venv/bin/emporium setup
#   EMPORIUM_DATABASE_URL=sqlite+aiosqlite:///$PWD/shop.db .venv/bin/emporium serve --port 8040 &
#   bash bench/lighthouse.sh http://127.0.0.1:8040 [product-slug]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=${1:-http://127.0.0.1:8040}
BASE=${BASE%/}
SLUG=${2:-}
CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
LIGHTHOUSE="$ROOT/node_modules/.bin/lighthouse"
OUT="$ROOT/test-artifacts/lighthouse"
CHROME_FLAGS="--headless=new --no-sandbox --disable-gpu --disable-background-networking --disable-component-update --disable-sync"

if [[ ! $BASE =~ ^https?://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?$ ]]; then
  echo "refusing: this benchmark only targets loopback addresses (got '$BASE')" >&2
  exit 2
fi
[[ -x $LIGHTHOUSE ]] || { echo "run 'npm install' first (no $LIGHTHOUSE)" >&2; exit 2; }
[[ -x $CHROME_PATH ]] || { echo "no chromium at $CHROME_PATH (apt-get install chromium)" >&2; exit 2; }
command -v curl >/dev/null || { echo "install curl first" >&2; exit 2; }
command -v node >/dev/null || { echo "install Node.js first" >&2; exit 2; }

if [[ -z $SLUG ]]; then
  SLUG=$(curl -fsS --max-time 20 "$BASE/" | grep -o 'href="/p/[^"?#]*"' | head -n 1 | sed 's|href="/p/||; s|"$||' || true)
  [[ -n $SLUG ]] || { echo "no product link on $BASE/; give a slug as the second argument" >&2; exit 2; }
fi
[[ $SLUG =~ ^[A-Za-z0-9._~-]+$ ]] || { echo "refusing: '$SLUG' is not a plain slug" >&2; exit 2; }

mkdir -p "$OUT"

audit() {
  local name=$1 path=$2
  timeout 300 "$LIGHTHOUSE" "$BASE$path" \
    --chrome-path="$CHROME_PATH" \
    --chrome-flags="$CHROME_FLAGS" \
    --only-categories=performance,accessibility,best-practices,seo \
    --output=json --output-path="$OUT/$name.json" --quiet >/dev/null
}

row() {
  local label=$1 name=$2
  node -e '
    const report = require(process.argv[1]);
    const score = id => {
      const s = report.categories[id] && report.categories[id].score;
      return s === null || s === undefined ? "n/a" : String(Math.round(s * 100));
    };
    const ids = ["performance", "accessibility", "best-practices", "seo"];
    console.log(`| ${process.argv[2]} | ${ids.map(score).join(" | ")} |`);
  ' "$OUT/$name.json" "$label"
}

pages=("home|/" "product|/p/$SLUG" "cart|/cart")
for page in "${pages[@]}"; do
  audit "${page%%|*}" "${page#*|}"
done

echo "| page | performance | accessibility | best practices | SEO |"
echo "|---|---|---|---|---|"
for page in "${pages[@]}"; do
  row "\`${page#*|}\`" "${page%%|*}"
done
