#!/usr/bin/env bash
# Local services for Hookgate development and tests (no Docker).
#
#   bash scripts/services.sh up            start Kafka (KRaft, single node) if needed, check Postgres
#                                          and Redis, create the databases, print export lines
#                                          on stdout:  eval "$(npm run -s services:up)"
#   bash scripts/services.sh down [--wipe] stop the Kafka broker started here (--wipe: delete its data)
#   bash scripts/services.sh status        is the broker up? (exit 0 yes, 3 no)
#   bash scripts/services.sh kafka-start   start the broker only and wait until it answers
#   bash scripts/services.sh kafka-stop    stop the broker only
#
# Only stdout of `up` carries the export lines; everything else goes to stderr.
# Postgres and Redis are never started or stopped here, only checked.
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_READY_TIMEOUT (60 s),
# KAFKA_STOP_TIMEOUT (30 s), KAFKA_HEAP_OPTS (-Xms256m -Xmx512m), HOOKGATE_CACHE_DIR (~/.cache/hookgate),
# HOOKGATE_SERVICES_DIR (./.services: where the broker's data, logs and pid live), PG_ADMIN_URL, REDIS_URL.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KAFKA_SRC="$ROOT/scripts/kafka"
POM="$KAFKA_SRC/pom.xml"
LOG4J="$KAFKA_SRC/log4j2.properties"
CHECK=("$ROOT/node_modules/.bin/tsx" "$ROOT/scripts/services-check.ts")

KAFKA_HOST=127.0.0.1
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-60}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
CACHE_DIR="${HOOKGATE_CACHE_DIR:-$HOME/.cache/hookgate}/kafka-$KAFKA_VERSION"
LIBS="$CACHE_DIR/libs"
LIBS_MARKER="$LIBS/.complete"

# HOOKGATE_SERVICES_DIR lets a second broker (the chaos suite's) live beside the usual one.
SVC_DIR="${HOOKGATE_SERVICES_DIR:-$ROOT/.services}/kafka"
DATA_DIR="$SVC_DIR/data"
LOGS_DIR="$SVC_DIR/logs"
SERVER_PROPS="$SVC_DIR/server.properties"
PID_FILE="$SVC_DIR/kafka.pid"
BROKER_LOG="$SVC_DIR/broker.log"
CLUSTER_ID_FILE="$SVC_DIR/cluster.id"
LOCK_FILE="$SVC_DIR/.lock"

say() { printf '%s\n' "$*" >&2; }
die() { printf '%s\n' "$*" >&2; exit "${2:-1}"; }

# ------------------------------------------------------------------ helpers

ensure_gitignore() {
  local gi="$ROOT/.gitignore" line
  touch "$gi"
  for line in node_modules/ .services/ .hookgate/ dist/; do
    if ! grep -qxF "$line" "$gi"; then
      # keep existing lines; make sure we start on a fresh line
      if [[ -s "$gi" && -n "$(tail -c1 "$gi")" ]]; then printf '\n' >>"$gi"; fi
      printf '%s\n' "$line" >>"$gi"
    fi
  done
}

lock() {
  mkdir -p "$SVC_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK_FILE"
    flock -w 120 9 || die "kafka: another services.sh is still running (lock $LOCK_FILE)"
  fi
}

require_java() {
  command -v java >/dev/null 2>&1 || die "java: not found — install a JDK 17 and Maven"
  local ver major
  ver="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
  major="${ver%%.*}"
  [[ "$major" == 1 ]] && major="$(cut -d. -f2 <<<"$ver")"
  if [[ "$major" =~ ^[0-9]+$ ]] && ((major < 17)); then
    die "java: version $ver is too old for Kafka $KAFKA_VERSION — install a JDK 17"
  fi
}

require_node_deps() {
  [[ -x "${CHECK[0]}" ]] || die "node: $ROOT/node_modules/.bin/tsx missing — run: npm ci"
}

ensure_jars() {
  if [[ -f "$LIBS_MARKER" ]] && compgen -G "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn: not found — install a JDK 17 and Maven"
  say "kafka: fetching Kafka $KAFKA_VERSION jars into $LIBS (first run only)…"
  mkdir -p "$LIBS"
  rm -f "$LIBS_MARKER"
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$LIBS" -DincludeScope=runtime >"$CACHE_DIR/mvn.log" 2>&1; then
    tail -n 20 "$CACHE_DIR/mvn.log" >&2
    die "kafka: could not download the Kafka $KAFKA_VERSION jars with Maven (output above) — check network access to Maven Central and rerun"
  fi
  compgen -G "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null \
    || die "kafka: Maven finished but $LIBS has no kafka_2.13-$KAFKA_VERSION.jar"
  date -u +%FT%TZ >"$LIBS_MARKER"
}

# Prints the pid of our running broker, or nothing. Removes a stale pid file.
broker_pid() {
  [[ -f "$PID_FILE" ]] || return 0
  local pid args
  pid="$(tr -dc '0-9' <"$PID_FILE")"
  if [[ -n "$pid" ]] && args="$(ps -p "$pid" -o args= 2>/dev/null)" \
      && [[ "$args" == *java* && "$args" == *kafka.Kafka* ]]; then
    printf '%s\n' "$pid"
    return 0
  fi
  say "kafka: removing stale pid file (pid ${pid:-?} is not a running broker)"
  rm -f "$PID_FILE"
}

port_in_use() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

kafka_answers() { # [wait-seconds] [pid]
  local args=(kafka --brokers "$KAFKA_HOST:$KAFKA_PORT" --wait "${1:-0}")
  [[ -n "${2:-}" ]] && args+=(--pid "$2")
  "${CHECK[@]}" "${args[@]}"
}

write_server_properties() {
  cat >"$SERVER_PROPS" <<EOF
# Generated by scripts/services.sh — edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA_DIR
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
# One partition for committed offsets and group state (50 by default): a single-node development
# broker then loads its group coordinator in a moment after a restart, not partition by partition.
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

java_base() { # common JVM args for broker and tools
  printf '%s\n' -Djava.awt.headless=true "-Dlog4j2.configurationFile=$LOG4J" "-Dkafka.logs.dir=$LOGS_DIR"
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0 # already formatted
  fi
  local cid
  mapfile -t jargs < <(java_base)
  if [[ -s "$CLUSTER_ID_FILE" ]]; then
    cid="$(tr -d '[:space:]' <"$CLUSTER_ID_FILE")"
  else
    cid="$(java "${jargs[@]}" -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>>"$BROKER_LOG" | tail -n1 | tr -d '[:space:]')"
    [[ -n "$cid" ]] || die "kafka: StorageTool random-uuid produced no id — see $BROKER_LOG"
    printf '%s\n' "$cid" >"$CLUSTER_ID_FILE"
  fi
  if ! java "${jargs[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
      -t "$cid" -c "$SERVER_PROPS" --ignore-formatted >>"$BROKER_LOG" 2>&1; then
    tail -n 20 "$BROKER_LOG" >&2
    die "kafka: formatting $DATA_DIR failed (output above) — try: bash scripts/services.sh down --wipe"
  fi
}

launch_broker() {
  mkdir -p "$DATA_DIR" "$LOGS_DIR"
  SERVER_LOG_OFFSET="$(stat -c %s "$LOGS_DIR/server.log" 2>/dev/null || echo 0)"
  write_server_properties
  : >"$BROKER_LOG"
  format_storage
  mapfile -t jargs < <(java_base)
  # shellcheck disable=SC2206
  local heap=($KAFKA_HEAP_OPTS)
  local cmd=(java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent "${jargs[@]}" -cp "$LIBS/*" kafka.Kafka "$SERVER_PROPS")
  # New session so the broker outlives this script (and npm / test runners' process groups).
  # The inner shell writes its own pid and then execs java, so the pid file is java's pid.
  # fd 9 (our lock) is closed for the child so the broker does not hold the lock.
  # shellcheck disable=SC2016 # $$ and $@ are for the inner shell
  setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "${cmd[@]}" \
    </dev/null >>"$BROKER_LOG" 2>&1 9>&- &
  local i
  for ((i = 0; i < 100; i++)); do # the pid file appears within milliseconds
    [[ -s "$PID_FILE" ]] && break
    sleep 0.05
  done
  [[ -s "$PID_FILE" ]] || die "kafka: broker process did not start — see $BROKER_LOG"
}

show_broker_failure() {
  if [[ -s "$BROKER_LOG" ]]; then
    say "kafka: --- tail of $BROKER_LOG ---"
    tail -n 20 "$BROKER_LOG" >&2 || true
  fi
  local log="$LOGS_DIR/server.log" recent
  if [[ -f "$log" ]]; then
    # only what this start wrote (server.log is appended to across restarts)
    recent="$(tail -c +"$((${SERVER_LOG_OFFSET:-0} + 1))" "$log" 2>/dev/null || true)"
    if [[ -n "$recent" ]]; then
      say "kafka: --- last errors in $log ---"
      { grep -E -A3 '^\[[^]]*\] (ERROR|FATAL) ' <<<"$recent" || tail -n 10 <<<"$recent"; } | tail -n 16 >&2 || true
    fi
  fi
}

# Starts the broker unless ours is already running; does not wait. Sets STARTED_PID.
kafka_launch_if_needed() {
  STARTED_PID=""
  local pid
  pid="$(broker_pid)"
  if [[ -n "$pid" ]]; then
    STARTED_PID="$pid"
    return 0
  fi
  if port_in_use "$KAFKA_HOST" "$KAFKA_PORT"; then
    die "kafka: port $KAFKA_HOST:$KAFKA_PORT is in use by a process not started by this script — stop it or set KAFKA_PORT"
  fi
  if port_in_use "$KAFKA_HOST" "$KAFKA_CONTROLLER_PORT"; then
    die "kafka: controller port $KAFKA_HOST:$KAFKA_CONTROLLER_PORT is in use — stop that process or set KAFKA_CONTROLLER_PORT"
  fi
  ensure_jars
  say "kafka: starting Kafka $KAFKA_VERSION (KRaft) on $KAFKA_HOST:$KAFKA_PORT"
  launch_broker
  STARTED_PID="$(tr -dc '0-9' <"$PID_FILE")"
  KAFKA_FRESH=1
}

# Waits until the broker answers metadata, or fails with its log.
kafka_wait_ready() {
  local pid="$1" rc=0 t0=$SECONDS
  if [[ -z "${KAFKA_FRESH:-}" ]] && kafka_answers 0 "$pid"; then
    say "kafka already running on $KAFKA_HOST:$KAFKA_PORT (pid $pid)"
    return 0
  fi
  kafka_answers "$KAFKA_READY_TIMEOUT" "$pid" || rc=$?
  case "$rc" in
    0) say "kafka: ready on $KAFKA_HOST:$KAFKA_PORT (pid $pid, $((SECONDS - t0)) s)" ;;
    2)
      rm -f "$PID_FILE"
      show_broker_failure
      die "kafka: broker exited during startup (see above) — fix the cause, or reset with: bash scripts/services.sh down --wipe" ;;
    *)
      show_broker_failure
      die "kafka: broker (pid $pid) did not answer on $KAFKA_HOST:$KAFKA_PORT within ${KAFKA_READY_TIMEOUT}s — see $LOGS_DIR/server.log" ;;
  esac
}

# True while the process exists and is not a zombie (exited, not yet reaped).
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local args
  args="$(ps -p "$1" -o stat=,args= 2>/dev/null)" || return 1
  [[ -n "$args" && "$args" != Z* && "$args" != *'<defunct>'* ]]
}

kafka_stop() {
  local pid i
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    say "kafka: not running"
    rm -f "$PID_FILE"
    return 0
  fi
  say "kafka: stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + ${KAFKA_STOP_TIMEOUT:-30}))
  while ((SECONDS < deadline)); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    say "kafka: broker did not exit within ${KAFKA_STOP_TIMEOUT:-30} s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_alive "$pid" || break
      sleep 0.1
    done
  fi
  rm -f "$PID_FILE"
  say "kafka: stopped"
}

# ------------------------------------------------------------------ commands

cmd_kafka_start() {
  require_java
  require_node_deps
  ensure_gitignore
  lock
  kafka_launch_if_needed
  kafka_wait_ready "$STARTED_PID"
}

cmd_kafka_stop() {
  lock
  kafka_stop
}

cmd_up() {
  require_java
  require_node_deps
  ensure_gitignore
  lock
  kafka_launch_if_needed
  # Check Postgres/Redis while the broker boots; report every failure, then decide.
  local deps_pid deps_out deps_rc=0 kafka_rc=0
  DEPS_FILE="$(mktemp "${TMPDIR:-/tmp}/hookgate-deps.XXXXXX")"
  trap 'rm -f "$DEPS_FILE"' EXIT
  "${CHECK[@]}" deps >"$DEPS_FILE" &
  deps_pid=$!
  (kafka_wait_ready "$STARTED_PID") || kafka_rc=$?
  wait "$deps_pid" || deps_rc=$?
  ((deps_rc == 0 && kafka_rc == 0)) || exit 1
  deps_out="$(cat "$DEPS_FILE")"

  printf 'export KAFKA_BROKERS=%q\n' "$KAFKA_HOST:$KAFKA_PORT"
  local key val
  while IFS='=' read -r key val; do
    [[ -n "$key" ]] && printf 'export %s=%q\n' "$key" "$val"
  done <<<"$deps_out"
}

cmd_down() {
  local wipe=""
  case "${1:-}" in
    "") ;;
    --wipe) wipe=1 ;;
    *) die "usage: services.sh down [--wipe]" 64 ;;
  esac
  lock
  kafka_stop
  if [[ -n "$wipe" ]]; then
    rm -rf "$DATA_DIR"
    say "kafka: wiped $DATA_DIR"
  fi
}

cmd_status() {
  local pid
  pid="$(broker_pid 2>/dev/null)"
  if [[ -z "$pid" ]]; then
    echo "kafka: down"
    return 3
  fi
  if [[ -x "${CHECK[0]}" ]] && kafka_answers 0 "$pid"; then
    echo "kafka: up on $KAFKA_HOST:$KAFKA_PORT (pid $pid, Kafka $KAFKA_VERSION)"
  else
    echo "kafka: process running (pid $pid) but not answering on $KAFKA_HOST:$KAFKA_PORT"
    return 1
  fi
}

main() {
  local sub="${1:-}"
  shift || true
  case "$sub" in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    kafka-start) cmd_kafka_start "$@" ;;
    kafka-stop) cmd_kafka_stop "$@" ;;
    *) die "usage: bash scripts/services.sh up | down [--wipe] | status | kafka-start | kafka-stop" 64 ;;
  esac
}

main "$@"
