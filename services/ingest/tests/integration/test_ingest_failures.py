"""Refused logins and dropped connections."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from mailroom_common.events import AlertEvent, decode_event

pytestmark = pytest.mark.integration

IMAP_PORT = 21143


async def test_login_failure_explains_alerts_and_exits(
    ingest_process: Callable[..., Any], alerts_reader: Any
) -> None:
    proc = ingest_process(INGEST_IMAP_PASSWORD="wrong-password")
    code = await asyncio.to_thread(proc.wait_exit, 60)
    output = proc.output()
    assert code == 3, output
    assert "IMAP login refused" in output
    assert "app password" in output
    assert "IMAP access is enabled" in output
    assert "AUTHENTICATIONFAILED" in output  # the server's own words
    assert "wrong-password" not in output  # never the secret
    await alerts_reader.wait_for(lambda r: len(r) >= 1, timeout=15)
    alert = decode_event(alerts_reader.records[0].value)
    assert isinstance(alert, AlertEvent)
    assert alert.kind == "imap_login_failed"
    assert alert.severity.value == "critical"
    assert "app password" in alert.message


class CuttableProxy:
    """A TCP proxy to Dovecot that the test can cut, like a flaky network or a restart."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.connections = 0

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self._writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self) -> None:
        """Drop every open connection (the service sees a reset mid-IDLE)."""
        for writer in list(self._writers):
            transport = writer.transport
            with contextlib.suppress(Exception):
                transport.abort()
        self._writers.clear()

    async def close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None


@pytest.fixture
async def proxy() -> AsyncIterator[CuttableProxy]:
    p = CuttableProxy(IMAP_PORT)
    await p.start()
    try:
        yield p
    finally:
        p.cut()
        await p.close_listener()


async def test_dropped_connection_is_recovered(
    imap_folder: Any,
    mail: Callable[..., bytes],
    ingest_process: Callable[..., Any],
    inbound_reader: Any,
    proxy: CuttableProxy,
) -> None:
    tag = uuid.uuid4().hex[:8]
    proc = ingest_process(INGEST_IMAP_PORT=str(proxy.port))
    await asyncio.to_thread(proc.wait_ready)
    first = imap_folder.append(mail(1, tag=tag))
    await inbound_reader.wait_for(lambda r: len(r) >= 1, timeout=10)

    # Cut the connection and keep the "server" unreachable for a moment.
    port = proxy.port
    await proxy.close_listener()
    proxy.cut()
    second = imap_folder.append(mail(2, tag=tag))  # arrives while ingest is cut off
    await asyncio.sleep(1.5)
    await proxy.start(port)
    third = imap_folder.append(mail(3, tag=tag))
    await inbound_reader.wait_for(lambda r: len(r) >= 3, timeout=30)
    await asyncio.sleep(0.5)
    await inbound_reader.poll()
    assert sorted(e.uid for e in inbound_reader.events()) == [first, second, third]
    ready = await asyncio.to_thread(proc.wait_ready)
    assert ready["mailboxes"][0]["reconnects"] >= 1
    assert "imap.connect.retry" in proc.output()  # each attempt is logged
    assert proxy.connections >= 2
