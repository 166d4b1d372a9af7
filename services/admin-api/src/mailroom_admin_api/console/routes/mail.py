"""Mail: every task, searched and filtered; one task's page; correct its route; reprocess it.

Reads and writes go through the services of ``/v1``: ``listing.list_tasks`` (GET
/v1/tasks), ``get_task_detail`` (GET /v1/tasks/{id}), ``corrections.put_correction`` (PUT
/v1/tasks/{id}/correction) and ``Reprocessor.reprocess_task`` (POST
/v1/tasks/{id}/reprocess, the form's hidden idempotency key as its Idempotency-Key).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from mailroom_admin_api.console.csrf import Form
from mailroom_admin_api.console.pages import CheckedFormDep, ConsoleView, SignedInViewDep
from mailroom_admin_api.console.security import safe_next
from mailroom_admin_api.correction_schemas import CorrectableRoute, CorrectionIn
from mailroom_admin_api.deps import ReprocessorDep, SessionDep, SettingsDep
from mailroom_admin_api.filters import TaskFilter
from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.repository import reprocess as reprocess_repo
from mailroom_admin_api.services import corrections, listing
from mailroom_admin_api.services.corrections_logic import DEFAULT_CORRECTED_BY
from mailroom_admin_api.services.task_detail import get_task_detail
from mailroom_common.events import Route, TaskStatus
from mailroom_common.logging import get_logger

__all__ = ["CONSOLE_ACTOR", "router"]

log = get_logger(__name__)

router = APIRouter(include_in_schema=False)

# The console signs in with the one shared admin token, which names nobody: an action
# taken here is recorded as the operator's, exactly as the same call through /v1.
CONSOLE_ACTOR = DEFAULT_CORRECTED_BY
# Console reprocess keys say where they came from in reprocess_requests.
KEY_PREFIX = "console-"
PAGE_SIZE = 50
STATUSES = tuple(s.value for s in TaskStatus)
ROUTES = tuple(r.value for r in Route)
CORRECTABLE = get_args(CorrectableRoute)

Text = Annotated[str, Query(max_length=998)]
TaskId = Annotated[uuid.UUID, Path()]


@dataclass(frozen=True, slots=True)
class MailQuery:
    """The Mail page's filter form, as typed (strings) and as a TaskFilter."""

    status: str = ""
    route: str = ""
    sender: str = ""
    subject: str = ""
    since: str = ""
    until: str = ""

    def as_query(self) -> dict[str, str]:
        """The fields filled in, for links that keep the filter (next page)."""
        values = {
            "status": self.status,
            "route": self.route,
            "sender": self.sender,
            "subject": self.subject,
            "since": self.since,
            "until": self.until,
        }
        return {k: v for k, v in values.items() if v}


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None


def task_filter(q: MailQuery) -> tuple[TaskFilter, list[str]]:
    """The TaskFilter of the form, and the message keys of fields it could not read."""
    errors: list[str] = []
    status = q.status if q.status in STATUSES else None
    if q.status and status is None:
        errors.append("mail.bad_status")
    route = q.route if q.route in ROUTES else None
    if q.route and route is None:
        errors.append("mail.bad_route")
    since = until = None
    if q.since:
        day = _day(q.since)
        if day is None:
            errors.append("mail.bad_date")
        else:
            since = datetime.combine(day, time(), UTC)
    if q.until:
        day = _day(q.until)
        if day is None:
            errors.append("mail.bad_date")
        else:  # the whole day named is included
            until = datetime.combine(day + timedelta(days=1), time(), UTC)
    flt = TaskFilter(
        statuses=(status,) if status else (),
        route=route,
        sender=q.sender.strip() or None,
        subject=q.subject.strip() or None,
        since=since,
        until=until,
    )
    return flt, errors


@router.get("/console/mail")
async def mail(
    *,
    view: SignedInViewDep,
    db: SessionDep,
    status: Text = "",
    route: Text = "",
    sender: Text = "",
    subject: Text = "",
    since: Text = "",
    until: Text = "",
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> HTMLResponse:
    q = MailQuery(status, route, sender, subject, since, until)
    flt, errors = task_filter(q)
    page = None
    if not errors:
        try:
            page = await listing.list_tasks(db, flt, cursor or None, PAGE_SIZE)
        except ProblemError:  # a cursor this API did not issue
            errors.append("mail.bad_cursor")
    query = q.as_query()
    next_url = None
    if page is not None and page.next_cursor:
        next_url = "/console/mail?" + urlencode({**query, "cursor": page.next_cursor})
    return view.render(
        "mail.html",
        status=400 if errors else 200,
        active="mail",
        q=q,
        errors=sorted(set(errors)),
        tasks=page.items if page is not None else [],
        next_url=next_url,
        first_url=("/console/mail?" + urlencode(query)) if cursor else None,
        statuses=STATUSES,
        routes=ROUTES,
    )


async def _task_page(
    view: ConsoleView,
    db: SessionDep,
    settings: SettingsDep,
    task_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    form: Form | None = None,
) -> HTMLResponse:
    detail = await get_task_detail(db, task_id, settings.admin.tracing_ui_base_url)
    reprocesses = await reprocess_repo.for_message_key(db, detail.message_key)
    done = view.request.query_params.get("done", "")
    c = detail.correction
    # The form shows what was posted after a refusal, else the current correction, else
    # the router's decision.
    if form is not None:
        values = {k: form.get(k) for k in ("route", "intent", "product_skus", "note")}
    elif c is not None:
        values = {
            "route": c.route,
            "intent": c.intent or "",
            "product_skus": " ".join(c.product_skus),
            "note": c.note or "",
        }
    else:
        values = {
            "route": detail.decision.route if detail.decision else (detail.route or ""),
            "intent": detail.decision.intent if detail.decision else (detail.intent or ""),
            "product_skus": " ".join(detail.decision.product_skus) if detail.decision else "",
            "note": "",
        }
    return view.render(
        "mail_task.html",
        status=status,
        active="mail",
        task=detail,
        reprocesses=reprocesses,
        correctable=CORRECTABLE,
        values=values,
        error=error,
        done=done if done in ("corrected", "reprocessed") else "",
        idempotency_key=f"{KEY_PREFIX}{uuid.uuid4()}",
    )


def _not_found(view: ConsoleView) -> HTMLResponse:
    return view.render(
        "error.html",
        status=404,
        title="mail.not_found_title",
        message="mail.not_found",
        signed_in=True,
    )


@router.get("/console/mail/{task_id}")
async def task_page(
    task_id: TaskId, view: SignedInViewDep, db: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    try:
        return await _task_page(view, db, settings, task_id)
    except ProblemError as exc:
        if exc.status == 404:
            return _not_found(view)
        raise


def _correction_in(form: Form) -> CorrectionIn:
    skus = form.get("product_skus").replace(",", " ").split()
    return CorrectionIn(
        route=form.get("route"),  # validated by the model
        intent=form.get("intent").strip() or None,
        product_skus=skus,
        note=form.get("note").strip() or None,
    )


@router.post("/console/mail/{task_id}/correction")
async def correct(
    *,
    task_id: TaskId,
    view: SignedInViewDep,
    form: CheckedFormDep,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        body = _correction_in(form)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")})
        log.info("console.correction_invalid", task_id=str(task_id), fields=fields)
        return await _task_page(
            view, db, settings, task_id, status=422, error=_invalid(view, fields), form=form
        )
    try:
        await corrections.put_correction(db, task_id, body, CONSOLE_ACTOR)
    except ProblemError as exc:
        if exc.status == 404:
            return _not_found(view)
        await db.rollback()
        return await _task_page(
            view, db, settings, task_id, status=exc.status, error=exc.detail, form=form
        )
    return RedirectResponse(f"/console/mail/{task_id}?done=corrected#correction", status_code=303)


def _invalid(view: ConsoleView, fields: list[str]) -> str:
    names = ", ".join(view.t(f"mail.field_{f}") if f in _FIELDS else f for f in fields)
    return view.t("mail.invalid", fields=names)


_FIELDS = frozenset({"route", "intent", "product_skus", "note"})


@router.post("/console/mail/{task_id}/reprocess")
async def reprocess(
    *,
    task_id: TaskId,
    view: SignedInViewDep,
    form: CheckedFormDep,
    db: SessionDep,
    settings: SettingsDep,
    reprocessor: ReprocessorDep,
) -> Response:
    key = form.get("idempotency_key").strip()
    if not key or len(key) > 255 or not all(0x21 <= ord(c) <= 0x7E for c in key):
        key = f"{KEY_PREFIX}{uuid.uuid4()}"
    back = safe_next(form.get("next"), f"/console/mail/{task_id}?done=reprocessed")
    try:
        _, replayed = await reprocessor.reprocess_task(db, task_id, key)
    except ProblemError as exc:
        if exc.status == 404:
            return _not_found(view)
        await db.rollback()
        return await _task_page(view, db, settings, task_id, status=exc.status, error=exc.detail)
    log.info(
        "console.reprocessed",
        task_id=str(task_id),
        request_key=key,
        replayed=replayed,
        by=CONSOLE_ACTOR,
    )
    return RedirectResponse(back, status_code=303)
