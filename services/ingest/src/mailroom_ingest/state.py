"""What each mailbox worker is doing, for /readyz and operators."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MailboxState", "Mode"]


class Mode(enum.StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"
    SYNCING = "syncing"  # fetching and publishing what is new
    IDLE = "idle"  # waiting in IMAP IDLE
    POLL = "poll"  # waiting between polls (server without IDLE)
    BACKOFF = "backoff"  # waiting before a reconnect
    FAILED = "failed"  # gave up (login refused)
    STOPPED = "stopped"


_READY = frozenset({Mode.SYNCING, Mode.IDLE, Mode.POLL})


@dataclass(slots=True)
class MailboxState:
    name: str
    folder: str
    mode: Mode = Mode.STARTING
    since: float = field(default_factory=time.time)
    uidvalidity: int | None = None
    last_uid: int | None = None
    last_sync_at: float | None = None
    reconnects: int = 0
    last_error: str | None = None

    def set(self, mode: Mode) -> None:
        if mode is not self.mode:
            self.mode = mode
            self.since = time.time()

    @property
    def ready(self) -> bool:
        return self.mode in _READY

    def as_dict(self) -> dict[str, Any]:
        return {
            "mailbox": self.name,
            "folder": self.folder,
            "mode": self.mode.value,
            "since": self.since,
            "ready": self.ready,
            "uidvalidity": self.uidvalidity,
            "last_uid": self.last_uid,
            "last_sync_at": self.last_sync_at,
            "reconnects": self.reconnects,
            "last_error": self.last_error,
        }
