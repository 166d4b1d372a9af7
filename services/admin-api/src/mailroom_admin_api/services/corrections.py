"""``/v1/tasks/{id}/correction``: record, read and remove an operator's routing correction."""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from mailroom_admin_api.correction_schemas import CorrectionIn, CorrectionOut
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository import corrections as corrections_repo
from mailroom_admin_api.repository import tasks as tasks_repo
from mailroom_admin_api.services.corrections_logic import (
    correction_out,
    decided_route,
    unique_skus,
)
from mailroom_admin_api.services.task_detail import task_not_found
from mailroom_common.db.models import EmailTask, RoutingCorrection
from mailroom_common.logging import get_logger

__all__ = ["delete_correction", "get_correction", "put_correction"]

log = get_logger(__name__)


async def _task(session: AsyncSession, task_id: uuid.UUID) -> EmailTask:
    task = await tasks_repo.get_task(session, task_id)
    if task is None:
        raise task_not_found(task_id)
    return task


async def put_correction(
    session: AsyncSession, task_id: uuid.UUID, body: CorrectionIn, corrected_by: str
) -> CorrectionOut:
    """Store the correction (insert or replace); the same body again changes nothing."""
    task = await _task(session, task_id)
    skus = unique_skus(body.product_skus)
    unknown = await corrections_repo.unknown_skus(session, skus)
    if unknown:
        raise ProblemError(
            422,
            "Unknown product",
            f"No product of the catalogue has SKU {', '.join(unknown)}.",
            kind="unknown-product",
            extensions={"unknown_skus": unknown},
        )
    await corrections_repo.upsert(
        session,
        RoutingCorrection(
            message_key=task.message_key,
            route=body.route,
            intent=body.intent,
            product_skus=skus,
            note=body.note,
            decided_route=decided_route(task.decision, task.route),
            corrected_by=corrected_by,
        ),
    )
    await session.commit()
    row = await corrections_repo.get(session, task.message_key)
    if row is None:  # deleted by a concurrent call between commit and read
        raise correction_not_found(task_id)
    out = correction_out(row, task.id)
    log.info(
        "correction.recorded",
        task_id=str(task.id),
        route=out.route,
        intent=out.intent,
        decided_route=out.decided_route,
        route_changed=out.route_changed,
        corrected_by=corrected_by,
    )
    return out


def correction_not_found(task_id: uuid.UUID) -> ProblemError:
    return ProblemError(
        404,
        "No correction",
        f"Task {task_id} has no routing correction.",
        kind="correction-not-found",
    )


async def get_correction(session: AsyncSession, task_id: uuid.UUID) -> CorrectionOut:
    task = await _task(session, task_id)
    row = await corrections_repo.get(session, task.message_key)
    if row is None:
        raise correction_not_found(task_id)
    return correction_out(row, task.id)


async def delete_correction(session: AsyncSession, task_id: uuid.UUID) -> None:
    """Remove the task's correction; removing one that is not there is not an error."""
    task = await _task(session, task_id)
    removed = await corrections_repo.delete_for(session, task.message_key)
    await session.commit()
    log.info("correction.deleted", task_id=str(task.id), removed=removed)
