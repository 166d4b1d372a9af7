"""`MAILROOM_OFFLINE_LLM=auto|on|off` for `make up` (deploy/local/offline-llm.sh), run by
bash exactly as up.sh and services.sh source it, after local.env and a shop's .env."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCAL = REPO / "deploy/local"
OFFLINE = "http://127.0.0.1:28080"
GROQ = "https://api.groq.com"


def _resolve(mode: str | None, base_url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "MAILROOM_"))}
    env |= {"GROQ_BASE_URL": base_url, "GROQ_API_KEY": "gsk_shop_key"}
    if mode is not None:
        env["MAILROOM_OFFLINE_LLM"] = mode
    script = (
        'set -euo pipefail; source "$1"; '
        'echo "$offline_llm|$GROQ_BASE_URL|$GROQ_API_KEY"; bash -c \'echo "$GROQ_BASE_URL"\''
    )
    return subprocess.run(
        ["bash", "-c", script, "resolve", str(LOCAL / "offline-llm.sh")],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("mode", "base_url", "started", "url", "key"),
    [
        (None, OFFLINE, "1", OFFLINE, "gsk_shop_key"),  # auto: today's behaviour
        ("auto", OFFLINE, "1", OFFLINE, "gsk_shop_key"),
        ("auto", GROQ, "0", GROQ, "gsk_shop_key"),
        ("on", GROQ, "1", OFFLINE, "offline-llm"),  # on wins over the .env's provider
        ("off", OFFLINE, "0", OFFLINE, "gsk_shop_key"),  # never started
        ("off", GROQ, "0", GROQ, "gsk_shop_key"),
    ],
)
def test_the_switch_decides_whether_the_offline_llm_runs(
    mode: str | None, base_url: str, started: str, url: str, key: str
) -> None:
    proc = _resolve(mode, base_url)
    assert proc.returncode == 0, proc.stderr
    first, child = proc.stdout.splitlines()
    assert first == f"{started}|{url}|{key}"
    assert child == url  # exported: the services started from the script see it


def test_a_bad_value_stops_make_up_with_a_clear_error() -> None:
    proc = _resolve("maybe", OFFLINE)
    assert proc.returncode == 2
    assert "MAILROOM_OFFLINE_LLM must be auto, on or off (got 'maybe')" in proc.stderr
    assert proc.stdout == ""  # set -e: nothing after the source ran


def test_up_and_services_apply_it_after_the_env_files() -> None:
    for name in ("up.sh", "services.sh"):
        text = (LOCAL / name).read_text("utf-8")
        env_at = text.index('source "$root/.env"')
        assert text.index('source "$here/offline-llm.sh"') > env_at, name
    up = (LOCAL / "up.sh").read_text("utf-8")
    assert 'if [ "$offline_llm" = 1 ]; then components+=(llm); fi' in up
    assert "28080" not in up  # one place knows the offline LLM's address
