"""``/v1/transactional``: enqueue a transactional email for the sender."""

from __future__ import annotations

from fastapi import APIRouter

from mailroom_admin_api.deps import ResourcesDep
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.schemas import TransactionalIn, TransactionalOut
from mailroom_admin_api.services.transactional import enqueue_transactional
from mailroom_common.topics import TRANSACTIONAL

__all__ = ["router"]

router = APIRouter(prefix="/v1/transactional", tags=["transactional"])


@router.post(
    "",
    response_model=TransactionalOut,
    status_code=202,
    operation_id="enqueueTransactional",
    summary="Validate a transactional email and publish it to mail.transactional",
    responses=problem_responses(401, 422, 503),
)
async def enqueue(body: TransactionalIn, resources: ResourcesDep) -> TransactionalOut:
    return await enqueue_transactional(
        resources.producer,
        resources.settings.kafka.topic(TRANSACTIONAL),
        body,
        resources.settings.admin.transactional_templates,
        resources.metrics,
    )
