"""GET /v1/tasks?subject=: a part of the subject, any case, LIKE wildcards taken literally
(the filter the console's Mail page searches with)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

pytestmark = pytest.mark.integration


async def test_subject_filter_matches_a_part_in_any_case(api: Any, seeder: Any, tools: Any) -> None:
    day = tools.unique_day()
    tag = seeder.tag
    rows = [
        seeder.task("a", created_at=day, subject=f"¿Dónde está mi PEDIDO {tag}?"),
        seeder.task("b", created_at=day + timedelta(minutes=1), subject=f"pedido {tag} roto"),
        seeder.task("c", created_at=day + timedelta(minutes=2), subject=f"100% {tag}_x"),
        seeder.task("d", created_at=day + timedelta(minutes=3), subject=f"1000 {tag}ax"),
        seeder.task("e", created_at=day + timedelta(minutes=4), subject=None),
    ]
    await seeder.add(*rows)

    async def ids(subject: str, **extra: Any) -> list[str]:
        response = await api.client.get("/v1/tasks", params={"subject": subject, **extra})
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    a, b, c, _, _ = (str(r.id) for r in rows)
    assert await ids(f"pedido {tag}") == [b, a]  # newest first
    assert await ids(f"PEDIDO {tag}", status="handoff") == []
    assert await ids(f"Pedido {tag} ROTO") == [b]
    # % and _ are characters here, not wildcards.
    assert await ids(f"100% {tag}_") == [c]
    assert await ids(f"{tag}_x") == [c]
    assert await ids(f"0% {tag}") == [c]
    response = await api.client.get("/v1/tasks", params={"subject": "x\x00"})
    assert response.status_code == 422
