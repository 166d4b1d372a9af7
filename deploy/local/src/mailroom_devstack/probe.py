"""Readiness probes used by ``deploy/local/stack.sh``.

    python -m mailroom_devstack.probe KIND --port N [--timeout S] [--pid PID] [--once]

KIND: ``kafka`` (aiokafka metadata round trip), ``imap`` (greeting + STARTTLS capability),
``imaps`` (TLS greeting), ``smtp`` (220 greeting + EHLO), ``http`` (GET ``--path`` answers 200).
Exit status: 0 ready, 1 timed out, 2 the process ``--pid`` died while waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import imaplib
import os
import smtplib
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable, Sequence

HOST = "127.0.0.1"


def probe_imap(port: int, timeout: float) -> str:
    # IMAP4's context manager logs out on exit (its close() is the IMAP CLOSE command).
    with imaplib.IMAP4(HOST, port, timeout=timeout) as conn:
        if "STARTTLS" not in conn.capabilities:
            raise RuntimeError(f"no STARTTLS in {conn.capabilities}")
        return conn.welcome.decode(errors="replace")


def probe_imaps(port: int, timeout: float) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed local certificate
    with imaplib.IMAP4_SSL(HOST, port, ssl_context=ctx, timeout=timeout) as conn:
        return conn.welcome.decode(errors="replace")


def probe_smtp(port: int, timeout: float) -> str:
    with smtplib.SMTP(HOST, port, timeout=timeout) as conn:
        code, msg = conn.ehlo()
        if code != 250:
            raise RuntimeError(f"EHLO answered {code}")
        return msg.decode(errors="replace").splitlines()[0]


def probe_http(port: int, timeout: float, path: str) -> str:
    url = f"http://{HOST}:{port}{path}"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        if resp.status != 200:
            raise RuntimeError(f"GET {path} -> {resp.status}")
        return str(resp.read(200).decode(errors="replace"))


def probe_kafka(port: int, timeout: float) -> str:
    from aiokafka.admin import AIOKafkaAdminClient

    async def run() -> str:
        admin = AIOKafkaAdminClient(
            bootstrap_servers=f"{HOST}:{port}",
            request_timeout_ms=int(timeout * 1000),
            client_id="mailroom-stack-probe",
        )
        await admin.start()
        try:
            cluster = await admin.describe_cluster()
            topics = await admin.list_topics()
        finally:
            await admin.close()
        brokers = cluster.get("brokers", [])
        return f"cluster {cluster.get('cluster_id')} brokers {len(brokers)} topics {len(topics)}"

    return asyncio.run(asyncio.wait_for(run(), timeout))


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wait_ready(
    check: Callable[[], str], timeout: float, pid: int | None, interval: float = 0.3
) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    last = "not tried"
    while True:
        if not _alive(pid):
            return 2, f"process {pid} exited; last probe error: {last}"
        try:
            return 0, check()
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            return 1, last
        time.sleep(interval)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="wait until a local stack server answers")
    parser.add_argument("kind", choices=["kafka", "imap", "imaps", "smtp", "http"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--attempt-timeout", type=float, default=3.0)
    parser.add_argument("--pid", type=int, default=None)
    parser.add_argument("--path", default="/healthz")
    parser.add_argument("--once", action="store_true", help="one attempt, no waiting")
    args = parser.parse_args(argv)
    at = args.attempt_timeout
    checks: dict[str, Callable[[], str]] = {
        "kafka": lambda: probe_kafka(args.port, at),
        "imap": lambda: probe_imap(args.port, at),
        "imaps": lambda: probe_imaps(args.port, at),
        "smtp": lambda: probe_smtp(args.port, at),
        "http": lambda: probe_http(args.port, at, args.path),
    }
    code, detail = wait_ready(checks[args.kind], 0 if args.once else args.timeout, args.pid)
    print(detail)
    sys.exit(code)


if __name__ == "__main__":
    main()
