"""Which approvals and discards the admin API hands to the sender (pure)."""

from __future__ import annotations

from mailroom_admin_api.drafts_logic import DraftFacts, pick, refusal


def test_a_pending_reply_of_a_drafted_task_may_be_decided_on() -> None:
    assert refusal(DraftFacts("reply", "filed"), "drafted") is None
    # An acknowledgement's task stays handoff: only the draft counts.
    assert refusal(DraftFacts("handoff_ack", "filed"), "handoff") is None


def test_no_draft_is_a_404() -> None:
    refused = refusal(None, "sent")
    assert refused is not None
    assert (refused.status, refused.kind) == (404, "draft-not-found")


def test_a_settled_draft_is_a_409_saying_what_became_of_it() -> None:
    for state, words in [
        ("approved", "approved"),
        ("sent", "sent"),
        ("sent_by_person", "sent by person"),
        ("discarded", "discarded"),
    ]:
        refused = refusal(DraftFacts("reply", state), "sent")
        assert refused is not None
        assert (refused.status, refused.kind) == (409, "draft-not-pending")
        assert words in refused.detail
    filing = refusal(DraftFacts("reply", "filing"), "replied")
    assert filing is not None
    assert filing.status == 409
    assert "try again" in filing.detail


def test_a_reply_whose_task_is_not_drafted_is_refused() -> None:
    for status in ("replied", None):
        refused = refusal(DraftFacts("reply", "filed"), status)
        assert refused is not None
        assert (refused.status, refused.kind) == (409, "task-not-drafted")


def test_the_pending_draft_is_the_one_acted_on() -> None:
    ack = DraftFacts("handoff_ack", "filed")
    reply = DraftFacts("reply", "filed")
    done = DraftFacts("reply", "sent")
    assert pick([]) is None
    assert pick([done]) is done
    assert pick([done, ack]) is ack
    assert pick([ack, reply]) is reply
