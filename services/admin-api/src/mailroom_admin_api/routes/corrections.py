"""``/v1/tasks/{task_id}/correction``: the route a task should have taken, as an operator says."""

from __future__ import annotations

from fastapi import APIRouter, Response

from mailroom_admin_api.correction_schemas import CorrectionIn, CorrectionOut
from mailroom_admin_api.deps import SessionDep
from mailroom_admin_api.problems import problem_responses
from mailroom_admin_api.routes.tasks import TaskIdParam
from mailroom_admin_api.services import corrections
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY

__all__ = ["router"]

router = APIRouter(prefix="/v1/tasks", tags=["corrections"])

PATH = "/{task_id}/correction"


@router.put(
    PATH,
    response_model=CorrectionOut,
    operation_id="putTaskCorrection",
    summary="Record the route (and FAQ topic, products) the task should have taken",
    description=(
        "Stores the operator's label for the task, replacing an earlier one; the same body "
        "again changes nothing (not even `corrected_at`). The route the router had chosen "
        "is copied with it (`decided_route`). Corrections are counted in `/v1/stats` "
        "(`corrections`) and exported as a labelled routing corpus by "
        "`python -m mailroom_common export-routing-corpus FILE`, the format "
        "`bench/route_eval.py` measures the router on. Every SKU must be in the catalogue "
        "(else `422 unknown-product`)."
    ),
    responses=problem_responses(401, 404, 422),
)
async def put_correction(
    task_id: TaskIdParam, body: CorrectionIn, session: SessionDep
) -> CorrectionOut:
    return await corrections.put_correction(session, task_id, body, DEFAULT_CORRECTED_BY)


@router.get(
    PATH,
    response_model=CorrectionOut,
    operation_id="getTaskCorrection",
    summary="The task's routing correction (404 when it has none)",
    responses=problem_responses(401, 404, 422),
)
async def get_correction(task_id: TaskIdParam, session: SessionDep) -> CorrectionOut:
    return await corrections.get_correction(session, task_id)


@router.delete(
    PATH,
    status_code=204,
    response_class=Response,
    operation_id="deleteTaskCorrection",
    summary="Remove the task's routing correction (204 also when it had none)",
    responses=problem_responses(401, 404, 422),
)
async def delete_correction(task_id: TaskIdParam, session: SessionDep) -> Response:
    await corrections.delete_correction(session, task_id)
    return Response(status_code=204)
