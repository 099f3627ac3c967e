#!/usr/bin/env bash
# The package as a user installs it: `npm pack` (which builds dist/), the tarball installed into an
# empty project, then `npx hookgate` from there in production mode — compiled JavaScript only,
# with no TypeScript compiler installed. Used by .ci/run; runnable by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
ingress_port="${PACK_INGRESS_PORT:-18490}"
management_port="${PACK_MANAGEMENT_PORT:-18491}"
say() { printf 'pack-check: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; [ -f "$work/start.log" ] && tail -n 40 "$work/start.log" >&2; exit 1; }

tarball="$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$work/$tarball" ] || fail "npm pack produced no tarball"
# Listed once into a file: `tar … | grep -q` under pipefail fails when grep stops reading early.
tar -tzf "$work/$tarball" > "$work/contents.txt"
grep -q '^package/dist/cli/index.js$' "$work/contents.txt" || fail "the tarball has no dist/cli/index.js"
grep -q '^package/dist/console/app.js$' "$work/contents.txt" || fail "the tarball has no built console (dist/console/app.js)"
if grep -q '^package/src/' "$work/contents.txt"; then fail "the tarball ships src/"; fi
say "packed $tarball ($(du -h "$work/$tarball" | cut -f1))"

cd "$work"
printf '{"name":"pack-check","private":true}\n' > package.json
npm install --no-audit --no-fund --prefer-offline --loglevel=error "./$tarball" >/dev/null
for compiler in tsx typescript; do
  [ ! -e "node_modules/$compiler" ] || fail "installing hookgate brought in $compiler"
done
version="$(npx --no-install hookgate --version)"
[ "$version" = "hookgate $(node -p "require('./node_modules/hookgate/package.json').version")" ] || fail "npx hookgate --version said: $version"
say "installed; npx hookgate --version: $version"

# Production mode on the embedded backends (allowed explicitly), so nothing else is needed.
export NODE_ENV=production HOOKGATE_ALLOW_EMBEDDED_IN_PRODUCTION=true HOOKGATE_DATA_DIR="$work/data" \
  INGRESS_PORT="$ingress_port" MANAGEMENT_PORT="$management_port" LOG_LEVEL=info \
  MANAGEMENT_API_KEY="pack-check-key-$(openssl rand -hex 16)" HOOKGATE_ENCRYPTION_KEYS="$(openssl rand -base64 32)"
setsid npx --no-install hookgate start >"$work/start.log" 2>&1 &
server=$!
cleanup() {
  kill -TERM -- "-$server" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 -- "-$server" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$server" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  grep -q '"msg":"hookgate started"' "$work/start.log" && break
  kill -0 "$server" 2>/dev/null || fail "npx hookgate start exited before it was ready"
  sleep 0.5
done
grep -q '"msg":"hookgate started","mode":"production"' "$work/start.log" || fail "npx hookgate start was not ready in production mode within 120 s"
say "started from the installed package in production mode"

npx --no-install hookgate status >/dev/null || fail "npx hookgate status failed"
secret="$(openssl rand -hex 24)"
npx --no-install hookgate integrations create --provider acme --name Acme --scheme HMAC_SHA256 --secret "$secret" --event-key-path '$.id' >/dev/null
printf '{"id":"pack-check-1","type":"order.created"}' > body.json
answer="$(npx --no-install hookgate send acme --file body.json --secret "$secret")"
case "$answer" in 202*) ;; *) fail "send answered: $answer" ;; esac
listed="$(npx --no-install hookgate events list --provider acme --json)"
grep -q '"eventKey": "pack-check-1"' <<<"$listed" || fail "events list does not show the sent event"
say "integration created, webhook sent and listed through the installed CLI"
say "passed"
