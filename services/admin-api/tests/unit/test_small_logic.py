import pytest

from mailroom_admin_api.problems import ProblemError
from mailroom_admin_api.schemas import TransactionalIn
from mailroom_admin_api.services._convert import trace_url
from mailroom_admin_api.services.stats import ratio
from mailroom_admin_api.services.transactional import build_request


def test_ratio() -> None:
    assert ratio(1, 3) == 0.3333
    assert ratio(0, 0) is None
    assert ratio(2, 2) == 1.0


def test_trace_url() -> None:
    assert trace_url("http://jaeger:16686", "abc") == "http://jaeger:16686/trace/abc"
    assert trace_url(None, "abc") is None
    assert trace_url("http://jaeger:16686", None) is None


def test_known_template_becomes_an_event_with_a_request_id() -> None:
    body = TransactionalIn(template="order_confirmation", to="ana@example.com", data={"n": 1})
    event = build_request(body, ["order_confirmation"])
    assert event.request_id.startswith("admin-")
    assert event.template == "order_confirmation"
    assert event.data == {"n": 1}
    kept = build_request(body.model_copy(update={"request_id": "r-1"}), ["order_confirmation"])
    assert kept.request_id == "r-1"


def test_unknown_template_is_a_422_problem() -> None:
    body = TransactionalIn(template="welcome", to="ana@example.com")
    with pytest.raises(ProblemError) as err:
        build_request(body, ["order_confirmation"])
    assert err.value.status == 422
    assert "welcome" in (err.value.detail or "")
