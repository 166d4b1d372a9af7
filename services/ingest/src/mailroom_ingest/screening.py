"""Decide whether a mail may be answered at all, before anything answers it.

Answering an auto-reply, a bounce or a mailing list creates mail loops and spam. The
rules follow RFC 3834 (Auto-Submitted) and the headers the big helpdesks check. Each
rule returns a short machine-readable reason; the first matching rule wins. Ignored mail
is still published (disposition IGNORED + reason) so its state is recorded.

Pure functions; no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["ScreenInput", "screen"]

_PRECEDENCE_IGNORED = frozenset({"bulk", "list", "junk", "auto_reply", "auto-reply"})
# Outlook/Exchange: these tokens mean "do not send automatic replies to this message".
_SUPPRESS_TOKENS = frozenset({"all", "oof", "autoreply"})
_SYSTEM_LOCALPARTS = re.compile(
    r"^(?:mailer-daemon|postmaster|no[-_.]?reply|do[-_.]?not[-_.]?reply|"
    r"no[-_.]?responder|bounces?)(?:[+\-_.].*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class ScreenInput:
    """What the rules look at. ``headers`` maps lower-case names to every value."""

    headers: Mapping[str, Sequence[str]]
    content_type: str
    from_address: str | None
    message_id: str | None
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    own_domain: str | None = None

    def values(self, name: str) -> list[str]:
        return [v.strip() for v in self.headers.get(name, ())]

    def first(self, name: str) -> str | None:
        vals = self.values(name)
        return vals[0] if vals else None


Rule = Callable[[ScreenInput], str | None]


def _auto_submitted(m: ScreenInput) -> str | None:
    value = m.first("auto-submitted")
    if value is not None and value.split(";")[0].strip().lower() != "no":
        return "auto_submitted"
    return None


def _autoreply_headers(m: ScreenInput) -> str | None:
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if m.first(name) is not None:
            return name.replace("-", "_")
    return None


def _precedence(m: ScreenInput) -> str | None:
    for name in ("precedence", "x-precedence"):
        value = (m.first(name) or "").lower()
        if value in _PRECEDENCE_IGNORED:
            return f"precedence_{value.replace('-', '_')}"
    return None


def _mailing_list(m: ScreenInput) -> str | None:
    if m.first("list-id") is not None:
        return "list_id"
    if m.first("list-unsubscribe") is not None:
        return "list_unsubscribe"
    return None


def _x_loop(m: ScreenInput) -> str | None:
    return "x_loop" if m.first("x-loop") is not None else None


def _auto_response_suppress(m: ScreenInput) -> str | None:
    value = m.first("x-auto-response-suppress")
    if value is None:
        return None
    tokens = {t.strip().lower() for t in value.split(",")}
    return "x_auto_response_suppress" if tokens & _SUPPRESS_TOKENS else None


def _bounce(m: ScreenInput) -> str | None:
    if m.content_type.lower() == "multipart/report":
        return "bounce_report"
    return_path = m.values("return-path")
    if return_path and return_path[0] in ("<>", ""):
        return "bounce_empty_return_path"
    if m.first("x-failed-recipients") is not None:
        return "bounce_failed_recipients"
    return None


def _system_sender(m: ScreenInput) -> str | None:
    if not m.from_address or "@" not in m.from_address:
        return None
    local = m.from_address.rsplit("@", 1)[0]
    return "system_sender" if _SYSTEM_LOCALPARTS.match(local) else None


def _own_mail(m: ScreenInput) -> str | None:
    if m.from_address and m.from_address.strip().lower() in m.own_addresses:
        return "own_address"
    if m.own_domain and m.message_id:
        domain = m.message_id.strip().strip("<>").rsplit("@", 1)[-1].lower()
        if domain == m.own_domain.lower():
            return "own_message_id"
    return None


RULES: tuple[Rule, ...] = (
    _auto_submitted,
    _autoreply_headers,
    _precedence,
    _mailing_list,
    _x_loop,
    _auto_response_suppress,
    _bounce,
    _system_sender,
    _own_mail,
)


def screen(message: ScreenInput, rules: Iterable[Rule] = RULES) -> str | None:
    """The reason to ignore ``message``, or None when it may be answered."""
    for rule in rules:
        reason = rule(message)
        if reason is not None:
            return reason
    return None
