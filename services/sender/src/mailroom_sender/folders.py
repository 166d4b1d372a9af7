"""Which IMAP folder is the mailbox's Drafts or Sent folder: pure, unit-tested.

Servers name them as they like (Gmail: ``[Gmail]/Drafts``, ``[Gmail]/Sent Mail``; in other
languages ``Borradores``, ``Enviados``…) and mark them with SPECIAL-USE attributes in their
LIST response (RFC 6154: ``\\Drafts``, ``\\Sent``). mailroom looks for the attribute; a
setting may name the folder instead, and with neither it falls back to ``Drafts`` /
``Sent`` (created when missing).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["DRAFTS", "SENT", "FolderChoice", "choose_folder"]

DRAFTS = "\\Drafts"
SENT = "\\Sent"
_FALLBACK = {DRAFTS: "Drafts", SENT: "Sent"}


@dataclass(frozen=True, slots=True)
class FolderChoice:
    name: str
    exists: bool
    how: str  # "setting" | "special-use" | "fallback", for the start-up log


def choose_folder(
    listing: Iterable[tuple[str, Sequence[str]]], attribute: str, override: str = ""
) -> FolderChoice:
    """The folder for ``attribute`` (``DRAFTS`` or ``SENT``) among ``listing`` (name, flags).

    ``override`` (a setting) wins when set; otherwise the first folder the server marks
    with the attribute; otherwise the fallback name.
    """
    folders = list(listing)
    names = {name for name, _ in folders}
    wanted = override.strip()
    if wanted:
        return FolderChoice(wanted, wanted in names, "setting")
    for name, flags in folders:
        if any(flag.lower() == attribute.lower() for flag in flags):
            return FolderChoice(name, True, "special-use")
    fallback = _FALLBACK[attribute]
    return FolderChoice(fallback, fallback in names, "fallback")
