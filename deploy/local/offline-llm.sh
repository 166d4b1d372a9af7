#!/usr/bin/env bash
# Sourced by up.sh and services.sh after local.env and .env: applies MAILROOM_OFFLINE_LLM.
#   auto (default)  start the offline LLM when GROQ_BASE_URL is the local default (:28080)
#   on              start it and point GROQ_BASE_URL / GROQ_API_KEY at it, whatever .env says
#   off             never start it: LLM-bound mail goes to the provider .env names, or, with
#                   the local default left in place, waits in retries and is dead-lettered
# Sets offline_llm=1 when the offline LLM is to run, 0 otherwise. A bad value is an error.
# `bash deploy/local/offline-llm.sh` prints the outcome for the current environment.
OFFLINE_LLM_URL="http://127.0.0.1:28080"
case "${MAILROOM_OFFLINE_LLM:-auto}" in
    auto)
        if [ "${GROQ_BASE_URL:-}" = "$OFFLINE_LLM_URL" ]; then offline_llm=1; else offline_llm=0; fi
        ;;
    on)
        offline_llm=1
        GROQ_BASE_URL="$OFFLINE_LLM_URL"
        GROQ_API_KEY="offline-llm"
        export GROQ_BASE_URL GROQ_API_KEY
        ;;
    off)
        offline_llm=0
        ;;
    *)
        echo "MAILROOM_OFFLINE_LLM must be auto, on or off (got '${MAILROOM_OFFLINE_LLM}')" >&2
        # shellcheck disable=SC2317  # exit when run, return when sourced
        return 2 2>/dev/null || exit 2
        ;;
esac
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    echo "offline_llm=$offline_llm GROQ_BASE_URL=${GROQ_BASE_URL:-}"
fi
