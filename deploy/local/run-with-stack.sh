#!/usr/bin/env bash
# Run a command with the local stack up; stop afterwards only the parts this script started.
#   deploy/local/run-with-stack.sh .venv/bin/pytest -q
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
stack="$here/stack.sh"
components=(kafka postgres imap smtp llm)
started=()
for c in "${components[@]}"; do
  if ! bash "$stack" status "$c" >/dev/null 2>&1; then started+=("$c"); fi
done
cleanup() {
  local rc=$?
  if [ ${#started[@]} -gt 0 ]; then bash "$stack" stop "${started[@]}" || true; fi
  exit $rc
}
trap cleanup EXIT INT TERM
if [ ${#started[@]} -gt 0 ]; then bash "$stack" start "${started[@]}"; fi
"$@"
