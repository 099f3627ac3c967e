#!/usr/bin/env bash
# The newcomer path, checked as a person would walk it: `npm start` with no service configured,
# then the command the start-up banner prints, then the delivery seen in the built-in sink and
# the event in the GraphQL `events` query. Used by .ci/run; runnable by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir="$(mktemp -d)"
log="$data_dir/start.log"
ingress_port="${NEWCOMER_INGRESS_PORT:-18480}"
management_port="${NEWCOMER_MANAGEMENT_PORT:-18481}"
say() { printf 'newcomer-check: %s\n' "$*" >&2; }
fail() { say "FAILED: $*"; say "server log: $log"; tail -n 40 "$log" >&2 || true; exit 1; }

# Nothing of the caller's environment but PATH and HOME: no DATABASE_URL, REDIS_URL or KAFKA_BROKERS.
# Its own process group: npm does not pass SIGTERM on to the server, so the group gets it.
env -i PATH="$PATH" HOME="$HOME" HOOKGATE_DATA_DIR="$data_dir" INGRESS_PORT="$ingress_port" MANAGEMENT_PORT="$management_port" \
  setsid npm start >"$log" 2>&1 &
server=$!
stop_server() {
  kill -TERM -- "-$server" 2>/dev/null || true
  # npm itself exits at once; the server's orderly shutdown is over when its whole group is gone.
  for _ in $(seq 1 150); do kill -0 -- "-$server" 2>/dev/null || break; sleep 0.2; done
  kill -KILL -- "-$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
cleanup() { stop_server; rm -rf "$data_dir"; }
trap cleanup EXIT

for _ in $(seq 1 240); do
  grep -q '"msg":"hookgate started"' "$log" && break
  kill -0 "$server" 2>/dev/null || fail "npm start exited before it was ready"
  sleep 0.5
done
grep -q '"msg":"hookgate started"' "$log" || fail "npm start was not ready within 120 s"
grep -q '"database":"pglite","coordination":"memory","eventLog":"memory"' "$log" || fail "expected every port on its embedded backend"
say "started on embedded backends"

# The banner's sample command, exactly as printed (indented by four spaces).
command="$(sed -n '/Send a signed sample webhook/,/Then see it delivered/p' "$log" | sed -n 's/^    //p')"
[ -n "$command" ] || fail "the banner printed no sample command"
answer="$(bash -c "$command")"
event_id="$(printf '%s' "$answer" | sed -n 's/.*"eventId":"\([0-9a-f-]*\)".*/\1/p')"
[ -n "$event_id" ] || fail "the sample command did not get a 202 with an eventId: $answer"
say "sample webhook accepted as $event_id"

key="$(cat "$data_dir/management-api-key")"
for _ in $(seq 1 40); do
  sink="$(curl -s -H "x-internal-api-key: $key" "http://127.0.0.1:$management_port/api/v1/internal/delivery-sink/demo")"
  printf '%s' "$sink" | grep -q "\"webhookId\":\"$event_id\",\"verified\":true" && break
  sleep 0.25
done
printf '%s' "$sink" | grep -q "\"webhookId\":\"$event_id\",\"verified\":true" || fail "the sink never received a verified delivery of $event_id: $sink"
say "delivered to the built-in sink with a valid signature"

events="$(curl -s "http://127.0.0.1:$management_port/graphql" -H "x-internal-api-key: $key" -H 'content-type: application/json' \
  -d '{"query":"{ events(first: 5, filter: { provider: \"demo\" }) { edges { node { id status } } } }"}')"
printf '%s' "$events" | grep -q "\"id\":\"$event_id\",\"status\":\"DELIVERED\"" || fail "the events query does not show $event_id as DELIVERED: $events"
say "events query shows it DELIVERED"

stop_server
grep -q '"msg":"stopped","component":"pglite"' "$log" || fail "the server did not shut down in order on SIGTERM"
say "stopped in order on SIGTERM"
say "passed"
