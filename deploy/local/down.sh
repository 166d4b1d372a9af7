#!/usr/bin/env bash
# `make down`: stop the four services `make up` started (by their PIDs), then the local stack.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
state="$(readlink -f "$root/.stack" 2>/dev/null || echo "$root/.stack")"
for name in admin-api ingest responder sender; do
    pidfile="$state/run/svc-$name.pid"
    [ -s "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
        echo "$name stopped (pid $pid)"
    fi
    rm -f "$pidfile"
done
bash "$here/stack.sh" stop
