"""apply_action: find the message (UID while UIDVALIDITY holds, else Message-ID), flag it."""

from __future__ import annotations

from mailroom_common.events import MailboxAction
from mailroom_ingest.actions import ActionOptions, apply_action


class FakeSession:
    def __init__(self, uidvalidity: int, by_message_id: dict[str, int]) -> None:
        self.uidvalidity = uidvalidity
        self.by_message_id = by_message_id
        self.flagged: list[tuple[int, str, str | None]] = []

    def open(self) -> None: ...
    def close(self) -> None: ...

    def find_uid(
        self, uid: int | None, uidvalidity: int | None, message_id: str | None
    ) -> int | None:
        if uid is not None and uidvalidity == self.uidvalidity:
            return uid
        return self.by_message_id.get(message_id or "")

    def flag_for_person(self, uid: int, keyword: str, copy_to: str | None = None) -> bool:
        self.flagged.append((uid, keyword, copy_to))
        return True


def action(**fields: object) -> MailboxAction:
    base: dict[str, object] = {"action": "handoff", "message_key": "<m@x>", "mailbox": "shop"}
    base.update(fields)
    return MailboxAction.model_validate(base)


def test_flags_by_uid_then_by_message_id_and_reports_a_missing_message() -> None:
    session = FakeSession(7, {"<m@x>": 42})
    opts = ActionOptions(keyword="$Person", copy_to="Needs a person")
    assert apply_action(action(uid=3, uidvalidity=7), session, opts) == "flagged"
    assert (
        apply_action(action(uid=3, uidvalidity=6, message_id="<m@x>"), session, opts) == "flagged"
    )
    assert apply_action(action(uid=3, uidvalidity=6, message_id="<gone@x>"), session, opts) == (
        "not_found"
    )
    assert session.flagged == [(3, "$Person", "Needs a person"), (42, "$Person", "Needs a person")]


def test_a_message_the_server_does_not_have_is_not_found() -> None:
    class Gone(FakeSession):
        def flag_for_person(self, uid: int, keyword: str, copy_to: str | None = None) -> bool:
            return False

    assert apply_action(action(uid=7, uidvalidity=1), Gone(1, {}), ActionOptions()) == "not_found"
