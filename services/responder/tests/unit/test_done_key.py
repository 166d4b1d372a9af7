"""A reprocessed email is a new run: the llm-done table must not skip it as a duplicate."""

from __future__ import annotations

from mailroom_common.events import InboundEmail
from mailroom_responder.ports import done_key


def _email(**extra: str) -> InboundEmail:
    return InboundEmail(message_key="<m@x>", thread_key="<m@x>", mailbox="shop", **extra)


def test_first_run_is_keyed_by_the_email() -> None:
    assert done_key(_email()) == "<m@x>"


def test_a_reprocess_is_a_run_of_its_own() -> None:
    first = done_key(_email())
    again = done_key(_email(reprocess_of_trace_id="0af7651916cd43dd8448eb211c80319c"))
    assert again != first
    assert again == done_key(_email(reprocess_of_trace_id="0af7651916cd43dd8448eb211c80319c"))
