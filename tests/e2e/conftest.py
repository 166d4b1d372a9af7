"""Fixtures of the end-to-end tests: a whole mailroom per test, torn down by PID.

``make_system(...)`` builds one isolated system (see :mod:`harness`): a private offline
LLM and SMTP sink, a topic prefix with every registry topic, an IMAP folder, the run's
migrated database with the demo catalogue, and the four services, started and healthy.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

# Tests are imported with --import-mode=importlib: make this folder importable for them.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (
    E2E,
    Db,
    ImapFolder,
    MakeSystem,
    OfflineLlm,
    SmtpSink,
    System,
    SystemConfig,
    create_topics,
    delete_topics,
    import_demo_catalogue,
)

KAFKA_BOOTSTRAP = os.environ.get("MAILROOM_TEST_KAFKA", "127.0.0.1:29092")
# Logs of a failed test are copied here: pytest's own tmp dirs are rotated away quickly.
FAILED_LOGS = Path(
    os.environ.get("MAILROOM_E2E_FAILED_LOGS")
    or Path(tempfile.gettempdir()) / "mailroom-e2e-failures"
)


def _keep_logs(workdir: Path, test_name: str) -> Path:
    target = FAILED_LOGS / f"{test_name}-{workdir.name}"
    with contextlib.suppress(OSError):
        target.mkdir(parents=True, exist_ok=True)
        for log in workdir.glob("*.log"):
            shutil.copy2(log, target / log.name)
    return target


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def e2e_database(database_url: str) -> str:
    """The run's migrated database, with the demo catalogue loaded (once)."""
    asyncio.run(import_demo_catalogue(database_url))
    return database_url


@pytest.fixture
async def make_system(
    e2e_database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[MakeSystem]:
    cleanups: list[Callable[[], Any]] = []
    systems: list[System] = []

    async def make(
        *,
        kafka_bootstrap: str = KAFKA_BOOTSTRAP,
        database_url: str | None = None,
        otlp_endpoint: str | None = None,
        env: dict[str, dict[str, str]] | None = None,
        start: bool = True,
    ) -> E2E:
        tag = uuid.uuid4().hex[:8]
        prefix = f"e2e{tag}."
        workdir = tmp_path / f"system-{tag}"
        workdir.mkdir(parents=True)
        url = database_url or e2e_database
        llm = OfflineLlm(workdir)
        cleanups.append(llm.stop)
        await llm.start()
        sink = SmtpSink(workdir)
        cleanups.append(sink.stop)
        await sink.start()
        folder = ImapFolder(f"e2e-{tag}")
        await asyncio.to_thread(folder.create)
        cleanups.append(folder.delete)
        await create_topics(kafka_bootstrap, prefix)
        cleanups.append(lambda: delete_topics(kafka_bootstrap, prefix))
        system = System(
            SystemConfig(
                workdir=workdir,
                kafka_bootstrap=kafka_bootstrap,
                topic_prefix=prefix,
                database_url=url,
                folder=folder.name,
                llm_url=llm.base_url,
                smtp_port=sink.port,
                otlp_endpoint=otlp_endpoint,
                env=env or {},
            )
        )
        systems.append(system)
        cleanups.append(system.stop)
        if start:
            await system.start()
        return E2E(system, llm, sink, folder, Db(url), prefix, tag)

    try:
        yield make
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is None or failed.failed:
            for system in systems:
                kept = _keep_logs(system.cfg.workdir, request.node.name)
                print(f"\n===== service logs ({system.cfg.topic_prefix}), all in {kept}")
                print(system.logs(30))
        for cleanup in reversed(cleanups):
            with contextlib.suppress(Exception):
                result = cleanup()
                if inspect.isawaitable(result):
                    await result


@pytest.fixture
async def mail_folders() -> Any:
    tag = uuid.uuid4().hex[:8]
    folders = [ImapFolder(f"Drafts-e2e-{tag}"), ImapFolder(f"Sent-e2e-{tag}")]
    for folder in folders:
        await asyncio.to_thread(folder.create)
    try:
        yield folders
    finally:
        for folder in folders:
            await asyncio.to_thread(folder.delete)
