#!/usr/bin/env bash
# The four mailroom services as background processes of the local machine (used by make up,
# make down and make status):  services.sh start|stop|status
# Configuration: deploy/local/local.env, overridden by a .env at the repository root.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
PY="$root/.venv/bin/python"
state="$(readlink -f "$root/.stack" 2>/dev/null || echo "$root/.stack")"
mkdir -p "$state/run" "$state/logs"

set -a
# shellcheck disable=SC1091
source "$here/local.env"
# shellcheck disable=SC1091
if [ -f "$root/.env" ]; then source "$root/.env"; fi
set +a
# shellcheck source=deploy/local/offline-llm.sh
source "$here/offline-llm.sh"
if [ -z "${ADMIN_API_TOKEN:-}" ] && [ -s "$state/run/admin-token" ]; then
    ADMIN_API_TOKEN="$(cat "$state/run/admin-token")"
    export ADMIN_API_TOKEN
fi

NAMES=(sender responder ingest admin-api)
module_of() {
    case $1 in
        sender) echo "mailroom_sender" ;;
        responder) echo "mailroom_responder worker" ;;
        ingest) echo "mailroom_ingest" ;;
        admin-api) echo "mailroom_admin_api" ;;
    esac
}
health_url() {
    case $1 in
        sender) echo "http://127.0.0.1:${SENDER_HEALTH_PORT}/healthz" ;;
        responder) echo "http://127.0.0.1:${RESPONDER_WEB_PORT}/healthz" ;;
        ingest) echo "http://127.0.0.1:${INGEST_HEALTH_PORT}/healthz" ;;
        admin-api) echo "http://127.0.0.1:${ADMIN_PORT}/healthz" ;;
    esac
}
pid_of() { local f="$state/run/svc-$1.pid"; [ -s "$f" ] && cat "$f" || true; }
running() { local pid; pid="$(pid_of "$1")"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }
healthy() { "$PY" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$(health_url "$1")" 2>/dev/null; }

start_one() {
    local name=$1
    if running "$name"; then echo "$name already running (pid $(pid_of "$name"))"; return; fi
    # shellcheck disable=SC2046
    OTEL_SERVICE_NAME="$name" nohup "$PY" -m $(module_of "$name") \
        >>"$state/logs/$name.log" 2>&1 </dev/null &
    echo $! >"$state/run/svc-$name.pid"
    echo "$name started (pid $!, log $state/logs/$name.log)"
}

wait_healthy() {
    local name=$1 deadline=$((SECONDS + 90))
    until healthy "$name"; do
        if ! running "$name" || [ $SECONDS -ge $deadline ]; then
            echo "$name is not healthy at $(health_url "$name"); last lines of its log:" >&2
            tail -n 30 "$state/logs/$name.log" >&2
            return 1
        fi
        sleep 1
    done
    echo "$name healthy ($(health_url "$name"))"
}

stop_one() {
    local name=$1 pid
    pid="$(pid_of "$name")"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
        echo "$name stopped (pid $pid)"
    fi
    rm -f "$state/run/svc-$name.pid"
}

case "${1:-status}" in
    start)
        for n in "${NAMES[@]}"; do start_one "$n"; done
        for n in "${NAMES[@]}"; do wait_healthy "$n"; done ;;
    stop)
        for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do stop_one "${NAMES[$i]}"; done ;;
    status)
        rc=0
        for n in "${NAMES[@]}"; do
            if running "$n" && healthy "$n"; then
                printf '%-10s up    %-34s pid %s\n' "$n" "$(health_url "$n")" "$(pid_of "$n")"
            elif running "$n"; then
                printf '%-10s sick  %-34s pid %s\n' "$n" "$(health_url "$n")" "$(pid_of "$n")"; rc=1
            else
                printf '%-10s down\n' "$n"; rc=1
            fi
        done
        exit $rc ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
