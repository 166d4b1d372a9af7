"""Routing corrections without a database: what is corrected, the stats figures, the body."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from mailroom_admin_api.correction_schemas import CorrectionIn
from mailroom_admin_api.repository.stats import CorrectionCounts
from mailroom_admin_api.services.corrections_logic import (
    correction_out,
    decided_route,
    route_corrections,
    unique_skus,
)
from mailroom_common.db.models import RoutingCorrection


@pytest.mark.parametrize(
    ("decision", "task_route", "expected"),
    [
        ({"route": "faq", "intent": "shipping"}, "handoff", "faq"),  # the router's choice
        (None, "llm", "llm"),  # no recorded decision: where the task went
        ({"route": ""}, "ignored", "ignored"),
        ({"intent": "x"}, None, None),
        ("not a dict", "faq", "faq"),
    ],
)
def test_decided_route(decision: Any, task_route: str | None, expected: str | None) -> None:
    assert decided_route(decision, task_route) == expected


def test_unique_skus_keep_the_first_order() -> None:
    assert unique_skus(["B", "A", "B", "C", "A"]) == ["B", "A", "C"]
    assert unique_skus([]) == []


def test_route_corrections_share_and_order() -> None:
    figures = route_corrections(
        [
            CorrectionCounts("llm", decided=3, corrected=1, route_changed=1),
            CorrectionCounts("faq", decided=4, corrected=2, route_changed=1),
            CorrectionCounts("handoff", decided=0, corrected=0, route_changed=0),
        ]
    )
    assert list(figures) == ["faq", "handoff", "llm"]
    assert figures["faq"].share == 0.5
    assert figures["llm"].share == 0.3333
    assert figures["handoff"].share is None
    assert route_corrections([]) == {}


def test_correction_out_says_whether_the_route_changed() -> None:
    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    task_id = uuid.uuid4()
    row = RoutingCorrection(
        message_key="<k@x>",
        route="faq",
        intent="shipping",
        product_skus=["JEA-MOM"],
        decided_route="handoff",
        corrected_by="operator",
        corrected_at=at,
    )
    out = correction_out(row, task_id)
    assert out.task_id == task_id
    assert out.route_changed is True
    assert out.product_skus == ["JEA-MOM"]
    assert out.corrected_at == at
    same = RoutingCorrection(
        message_key="<k@x>", route="faq", decided_route="faq", corrected_by="operator"
    )
    assert correction_out(same, task_id).route_changed is False


def test_the_body_takes_the_five_routes_and_a_topic() -> None:
    body = CorrectionIn.model_validate({"route": "ignored"})
    assert (body.intent, body.product_skus, body.note) == (None, [], None)
    full = CorrectionIn.model_validate(
        {"route": "faq", "intent": "sizes", "product_skus": ["JEA-MOM"], "note": "talle"}
    )
    assert full.intent == "sizes"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"route": "transactional"},
        {"route": "unsure"},
        {"route": "faq", "intent": "Shipping Times"},
        {"route": "faq", "intent": "x" * 65},
        {"route": "catalogue", "product_skus": ["has space"]},
        {"route": "catalogue", "product_skus": [""]},
        {"route": "catalogue", "product_skus": [f"S{n}" for n in range(21)]},
        {"route": "llm", "note": "nul\x00"},
        {"route": "llm", "colour": "blue"},
    ],
)
def test_bad_bodies_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CorrectionIn.model_validate(body)
