"""OpenTelemetry set-up from the standard ``OTEL_*`` variables, and Kafka header context.

``setup_telemetry`` installs tracer and meter providers once per process. Exporters follow
the OpenTelemetry SDK's own environment variables: with ``OTEL_EXPORTER_OTLP_ENDPOINT``
(or the traces/metrics-specific variant) spans and metrics go out over OTLP/HTTP; with
``OTEL_SDK_DISABLED=true`` nothing is exported. Services expose Prometheus metrics on
their own ``/metrics`` endpoints with ``prometheus_client``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.propagate import extract, inject
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Span

__all__ = [
    "Telemetry",
    "context_from_headers",
    "current_trace_id",
    "hash_address",
    "headers_with_context",
    "setup_telemetry",
]

KafkaHeaders = Sequence[tuple[str, bytes]]


@dataclass(frozen=True, slots=True)
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def _otlp_configured(signal: str) -> bool:
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
    )


def setup_telemetry(
    service_name: str,
    *,
    extra_span_processors: Sequence[SpanProcessor] = (),
    extra_metric_readers: Sequence[MetricReader] = (),
    set_global: bool = True,
) -> Telemetry:
    """Configure tracing and metrics for ``service_name`` (``OTEL_SERVICE_NAME`` wins).

    Tests pass an in-memory span processor through ``extra_span_processors``.
    """
    resource = Resource.create({"service.name": service_name}).merge(
        OTELResourceDetector().detect()
    )
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true"
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = list(extra_metric_readers)
    if not disabled and _otlp_configured("TRACES"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if not disabled and _otlp_configured("METRICS"):
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
    for processor in extra_span_processors:
        tracer_provider.add_span_processor(processor)
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    if set_global:
        trace.set_tracer_provider(tracer_provider)
        metrics.set_meter_provider(meter_provider)
    return Telemetry(tracer_provider, meter_provider)


def headers_with_context(
    headers: KafkaHeaders = (), ctx: Context | None = None
) -> list[tuple[str, bytes]]:
    """Return Kafka headers carrying the W3C trace context of ``ctx`` (default: current)."""
    carrier: dict[str, str] = {}
    inject(carrier, context=ctx)
    kept = [(k, v) for k, v in headers if k not in carrier]
    return kept + [(k, v.encode("ascii")) for k, v in carrier.items()]


def context_from_headers(headers: KafkaHeaders | Mapping[str, bytes] | None) -> Context:
    """Extract the W3C trace context that :func:`headers_with_context` wrote."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    carrier = {
        k: (v.decode("ascii", "replace") if isinstance(v, bytes) else str(v)) for k, v in items
    }
    return extract(carrier, context=otel_context.Context())


def current_trace_id(span: Span | None = None) -> str | None:
    """The current (or given) span's trace id as 32 hex digits, or None outside a trace."""
    span_ctx = (span or trace.get_current_span()).get_span_context()
    if not span_ctx.is_valid:
        return None
    return format(span_ctx.trace_id, "032x")


def hash_address(address: str | None) -> str | None:
    """A stable, non-reversible stand-in for an email address in spans and logs."""
    if not address:
        return None
    digest = hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()
    return f"sha256:{digest[:16]}"
