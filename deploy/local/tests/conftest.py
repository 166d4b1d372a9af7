"""Shared helpers for the local-stack tests (integration tests need `stack.sh start`)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
STATE_DIR = Path(os.environ.get("MAILROOM_STACK_DIR") or REPO_ROOT / ".stack")
HOST = "127.0.0.1"


def require_port(port: int, component: str) -> None:
    """Fail with a helpful message when a stack server is not listening."""
    try:
        with socket.create_connection((HOST, port), timeout=2):
            return
    except OSError:
        pytest.fail(
            f"{component} is not listening on {HOST}:{port}; "
            "start the stack with: bash deploy/local/stack.sh start"
        )
