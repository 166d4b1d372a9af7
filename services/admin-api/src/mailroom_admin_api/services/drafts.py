"""``/v1/drafts``: pending drafts, and operators' approvals and discards for the sender."""

from __future__ import annotations

from typing import Literal, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.draft_schemas import DraftActionOut, DraftOut, DraftPage
from mailroom_admin_api.drafts_logic import DraftFacts, pick, refusal
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository import drafts as drafts_repo
from mailroom_admin_api.services._convert import as_inbound
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY
from mailroom_admin_api.services.listing import _page
from mailroom_common.events import DraftAction
from mailroom_common.kafka import send_event
from mailroom_common.logging import get_logger

__all__ = ["list_drafts", "request_action"]

log = get_logger(__name__)


async def list_drafts(session: AsyncSession, cursor: str | None, limit: int) -> DraftPage:
    rows, next_cursor = await _page(
        lambda c, n: drafts_repo.list_pending(session, c, n),
        lambda row: (row.draft.created_at, row.draft.id),
        cursor,
        limit,
    )
    return DraftPage(items=[_draft_out(row) for row in rows], next_cursor=next_cursor)


def _draft_out(row: drafts_repo.PendingDraft) -> DraftOut:
    draft = row.draft
    original = as_inbound(row.original)
    return DraftOut(
        message_key=draft.message_key,
        kind=cast(Literal["reply", "handoff_ack"], draft.kind),
        task_id=row.task_id,
        to=draft.recipient,
        subject=draft.subject,
        reply_text=draft.body_text,
        route=draft.route,
        folder=draft.folder,
        created_at=draft.created_at,
        customer_from=row.from_address,
        customer_subject=row.subject,
        customer_text=original.text if original is not None else None,
    )


async def request_action(
    session: AsyncSession,
    producer: AIOKafkaProducer,
    topic: str,
    message_key: str,
    *,
    action: Literal["approve", "discard"],
    body_text: str | None = None,
    actor: str = DEFAULT_CORRECTED_BY,
) -> DraftActionOut:
    """Check the draft may be decided on, then publish the DraftAction (keyed by the task,
    so one task's decisions reach the sender in order)."""
    drafts = await drafts_repo.drafts_for(session, message_key)
    draft = pick([DraftFacts(d.kind, d.state) for d in drafts])
    refused = refusal(draft, await drafts_repo.task_status(session, message_key))
    if refused is not None:
        raise ProblemError(refused.status, refused.title, refused.detail, kind=refused.kind)
    event = DraftAction(
        producer="admin-api",
        action=action,
        message_key=message_key,
        body_text=body_text,
        actor=actor,
    )
    try:
        await send_event(producer, topic, event, key=message_key)
    except KafkaError as exc:
        raise ProblemError(
            503,
            "Kafka unavailable",
            f"Could not publish to {topic}: {type(exc).__name__}; try again.",
            kind="kafka-unavailable",
        ) from exc
    log.info(
        "draft.action_requested",
        message_key=message_key,
        action=action,
        edited=body_text is not None,
    )
    return DraftActionOut(
        message_key=message_key,
        action=action,
        event_id=event.event_id,
        edited=body_text is not None,
    )
