from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider

from mailroom_common.telemetry import (
    context_from_headers,
    current_trace_id,
    hash_address,
    headers_with_context,
)


def test_headers_round_trip_the_trace() -> None:
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("producer") as span:
        headers = headers_with_context([("other", b"1")])
        trace_id = span.get_span_context().trace_id
    assert ("other", b"1") in headers
    assert any(k == "traceparent" for k, _ in headers)
    ctx = context_from_headers(headers)
    with tracer.start_as_current_span("consumer", context=ctx) as child:
        assert child.get_span_context().trace_id == trace_id
        assert current_trace_id() == format(trace_id, "032x")


def test_no_context_outside_a_trace() -> None:
    assert current_trace_id() is None
    assert context_from_headers(None) is not None


def test_hash_address_is_stable_and_hides_the_address() -> None:
    first = hash_address("Ana@Example.com ")
    assert first == hash_address("ana@example.com")
    assert first is not None
    assert "ana" not in first
    assert hash_address(None) is None
