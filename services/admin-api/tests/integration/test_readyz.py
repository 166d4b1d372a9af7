"""/readyz follows PostgreSQL: 503 while it is down, 200 once it is back.

The shared stack's PostgreSQL must not be stopped, so this test runs a throwaway cluster
of its own (initdb/pg_ctl as the unprivileged ``postgres`` user, which PostgreSQL needs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mailroom_common.db.migrate import upgrade

pytestmark = pytest.mark.integration

PG_BIN = Path(os.environ.get("MAILROOM_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "postgres"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_pg_user(*args: str) -> list[str]:
    # PostgreSQL refuses to run as root; when we are not root we already are unprivileged.
    if os.geteuid() == 0:
        return ["runuser", "-u", PG_USER, "--", *args]
    return list(args)


class Cluster:
    def __init__(self, root: Path, port: int) -> None:
        self.data = root / "data"
        self.log = root / "pg.log"
        self.port = port
        self.url = f"postgresql+asyncpg://{PG_USER}@127.0.0.1:{port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(_as_pg_user(*args), check=True, timeout=timeout, capture_output=True)

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"PostgreSQL server binaries not found in {PG_BIN}")
    root = Path(tempfile.mkdtemp(prefix="admin-readyz-"))
    if os.geteuid() == 0:
        shutil.chown(root, PG_USER, PG_USER)
    pg = Cluster(root, _free_port())
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


async def test_readyz_follows_postgresql(cluster: Cluster, kafka_topics: Any, tools: Any) -> None:
    # alembic's env runs its own event loop, so it goes to a thread.
    await asyncio.to_thread(upgrade, "head", cluster.url)
    settings = tools.make_settings(cluster.url, kafka_topics, readiness_timeout_s=3)
    async with tools.running_app(settings) as api:
        ready = await api.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "kafka": "ok"}}

        await asyncio.to_thread(cluster.stop)
        down = await api.client.get("/readyz")
        assert down.status_code == 503
        assert down.headers["content-type"] == "application/problem+json"
        body = down.json()
        assert body["type"] == "/problems/not-ready"
        assert body["checks"]["kafka"] == "ok"
        assert body["checks"]["database"] != "ok"
        assert "database" in body["detail"]
        # Liveness is not readiness: the process itself is fine.
        assert (await api.client.get("/healthz")).status_code == 200

        await asyncio.to_thread(cluster.start)

        async def recovered() -> bool:
            return (await api.client.get("/readyz")).status_code == 200

        await tools.wait_for(recovered, timeout_s=20)
        # And the API serves data again over the re-established pool.
        assert (await api.client.get("/v1/tasks")).status_code == 200
