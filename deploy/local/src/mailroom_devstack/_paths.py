"""Where the local stack keeps its state (``<repo>/.stack``)."""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_ENV = "MAILROOM_STACK_DIR"


def state_dir() -> Path:
    """Return the stack state directory.

    Order: ``$MAILROOM_STACK_DIR``; the nearest ``.stack`` directory above the current
    directory; ``.stack`` next to the repository that holds this file (editable install);
    ``./.stack``.
    """
    env = os.environ.get(STATE_DIR_ENV)
    if env:
        return Path(env)
    cwd = Path.cwd().resolve()
    for parent in (cwd, *cwd.parents):
        candidate = parent / ".stack"
        if candidate.is_dir():
            return candidate
    here = Path(__file__).resolve()
    # <repo>/deploy/local/src/mailroom_devstack/_paths.py
    if len(here.parents) > 4:
        repo = here.parents[4]
        if (repo / "deploy" / "local" / "stack.sh").is_file():
            return repo / ".stack"
    return cwd / ".stack"


def smtp_outbox_dir() -> Path:
    return state_dir() / "smtp" / "outbox"


def smtp_faults_file() -> Path:
    return state_dir() / "smtp" / "faults.json"
