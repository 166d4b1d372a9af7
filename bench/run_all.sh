#!/usr/bin/env bash
# `make bench`: every benchmark in turn against the local stack (make starts and stops it).
# Each prints its own figures; the end-to-end one also writes JSON and a PNG under
# bench/results/. Pass BENCH_QUICK=1 for smaller runs.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
if [ "${BENCH_QUICK:-0}" = 1 ]; then
    ingest=(--mails 300 --samples 20); responder=(--faq 500 --llm 8); sender=(--messages 500)
else
    ingest=(); responder=(); sender=()
fi
echo "== ingest";    "$PY" bench/ingest_bench.py "${ingest[@]}"
echo "== responder"; "$PY" bench/responder_bench.py "${responder[@]}"
echo "== sender";    "$PY" bench/sender_bench.py "${sender[@]}"
if [ -f bench/e2e_bench.py ]; then echo "== end to end"; "$PY" bench/e2e_bench.py; fi
echo "== console";   "$PY" bench/console_bench.py $([ "${BENCH_QUICK:-0}" = 1 ] && echo --tasks 20000 --rounds 10)
