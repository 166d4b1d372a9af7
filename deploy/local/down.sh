#!/usr/bin/env bash
# `make down`: stop the four services `make up` started (by their PIDs), then the local stack.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/services.sh" stop
bash "$here/stack.sh" stop
