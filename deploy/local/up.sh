#!/usr/bin/env bash
# `make up`: the whole system on local defaults, or against the mailbox and Groq key in .env.
#   1. the local stack (Kafka, PostgreSQL, and — when .env does not point elsewhere — Dovecot,
#      the SMTP sink and the offline LLM; MAILROOM_OFFLINE_LLM=auto|on|off decides the LLM,
#      see offline-llm.sh);
#   2. migrations, topics and the catalogue: the file MAILROOM_CATALOGUE_FILE names, or the
#      demo one; upserted (added and updated, nothing deactivated: for that run
#      `python -m mailroom_common import-catalogue --replace FILE` yourself);
#   3. the four services, each in the background with its log in .stack/logs/;
#   4. a handful of customer emails dropped into the local mailbox, and what became of each.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
PY="$root/.venv/bin/python"
stack="$here/stack.sh"

set -a
# shellcheck disable=SC1091
source "$here/local.env"
if [ -f "$root/.env" ]; then
    # shellcheck disable=SC1091
    source "$root/.env"
    using_env=1
else
    using_env=0
fi
set +a
# shellcheck source=deploy/local/offline-llm.sh
source "$here/offline-llm.sh"

state="$(readlink -f "$root/.stack" 2>/dev/null || echo "$root/.stack")"
mkdir -p "$state/run" "$state/logs"
token_file="$state/run/admin-token"
if [ -z "${ADMIN_API_TOKEN:-}" ]; then
    [ -s "$token_file" ] || "$PY" -c 'import secrets; print(secrets.token_hex(24))' >"$token_file"
    ADMIN_API_TOKEN="$(cat "$token_file")"
    export ADMIN_API_TOKEN
fi

components=(kafka postgres)
local_mail=0
if [ "${INGEST_IMAP_HOST}" = "127.0.0.1" ]; then components+=(imap); local_mail=1; fi
if [ "${SENDER_SMTP_HOST}" = "127.0.0.1" ]; then components+=(smtp); fi
if [ "$offline_llm" = 1 ]; then components+=(llm); fi
if [ "$offline_llm" = 0 ] && [ "${GROQ_BASE_URL:-}" = "$OFFLINE_LLM_URL" ]; then
    echo "warning: MAILROOM_OFFLINE_LLM=off and GROQ_BASE_URL is the offline LLM's address:" \
        "mail that needs the LLM will wait in retries, then be dead-lettered (admin API)" >&2
fi
bash "$stack" start "${components[@]}"

catalogue="${MAILROOM_CATALOGUE_FILE:-$here/demo/catalogue.csv}"
if [ -n "${MAILROOM_CATALOGUE_FILE:-}" ]; then
    catalogue_kind="the shop's own, from MAILROOM_CATALOGUE_FILE"
else
    catalogue_kind="the demo one"
fi
echo "== database migrations, topics, catalogue $catalogue ($catalogue_kind)"
"$PY" -m mailroom_common migrate
"$PY" -m mailroom_common create-topics
"$PY" -m mailroom_common import-catalogue "$catalogue"

echo "== services"
bash "$here/services.sh" start

if [ "$local_mail" = 1 ] && [ "${MAILROOM_DEMO_MAILS:-1}" = 1 ]; then
    echo "== demo: customer emails dropped into ${INGEST_IMAP_USER}'s inbox"
    "$PY" -m mailroom_devstack.demo --admin "http://127.0.0.1:${ADMIN_PORT}" \
        --token "$ADMIN_API_TOKEN" || echo "(demo incomplete: see the logs above)" >&2
fi

cat <<TXT

mailroom is running ($([ "$using_env" = 1 ] && echo "configuration from .env" || echo "local defaults")).
  LLM:         $([ "$offline_llm" = 1 ] && echo "the offline LLM at ${GROQ_BASE_URL}" || echo "${GROQ_BASE_URL:-none} (MAILROOM_OFFLINE_LLM=${MAILROOM_OFFLINE_LLM:-auto})")
  console:     http://127.0.0.1:${ADMIN_PORT}/console (sign in with the token below)
  admin API:   http://127.0.0.1:${ADMIN_PORT}/docs
  token:       ${ADMIN_API_TOKEN}
  try:         curl -H "Authorization: Bearer ${ADMIN_API_TOKEN}" http://127.0.0.1:${ADMIN_PORT}/v1/tasks
  logs:        $state/logs/{ingest,responder,sender,admin-api}.log
  sent mail:   .venv/bin/python -m mailroom_devstack.sent_list
  new mail:    .venv/bin/python -m mailroom_devstack.mail_drop --from "Ana <ana@example.com>" --subject "Hola" --body "¿Hacen envíos?"
  stop:        make down
TXT
