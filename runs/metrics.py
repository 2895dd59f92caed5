"""GET /metrics: Prometheus metrics read from the database at scrape time.

The service is several gunicorn workers and qcluster processes, possibly on several hosts, and a
run is started in one process and finished in another. Per-process counters would each see a
slice and reset on restart, so every metric here is an aggregate query over the runs, sandboxes,
usage and callback tables: any process answers the same numbers for the whole deployment.
Counters are monotonic as long as rows are kept (pruning old runs lowers them, which Prometheus
treats as a counter reset).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django_q.brokers import get_broker
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from agentexec.errors import error_body
from agentexec.httperrors import get_only
from agentexec.models import DeliveryState
from runs.models import (
    TERMINAL_STATUSES,
    CallbackDelivery,
    Run,
    RunStatus,
    UsageEntry,
    UsageKind,
)
from sandboxes.models import Sandbox

RUN_DURATION_BUCKETS_S = (1, 2.5, 5, 10, 30, 60, 120, 300, 600)
SANDBOX_BOOT_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


def _histogram(
    family: HistogramMetricFamily,
    queryset: QuerySet[Any],
    *,
    label: str,
    field: str,
    buckets: Sequence[float],
) -> None:
    """One GROUP BY query: a COUNT per bucket (field in ms <= bound), the count and the sum."""
    per_bucket = {
        f"le_{i}": Count("pk", filter=Q(**{f"{field}__lte": round(bound * 1000)}))
        for i, bound in enumerate(buckets)
    }
    rows = (
        queryset.filter(**{f"{field}__isnull": False})
        .order_by()
        .values(label)
        .annotate(n=Count("pk"), total_ms=Sum(field), **per_bucket)
    )
    for row in rows:
        counts = [(floatToGoString(bound), row[f"le_{i}"]) for i, bound in enumerate(buckets)]
        family.add_metric(
            [row[label] or ""],
            buckets=[*counts, ("+Inf", row["n"])],
            sum_value=(row["total_ms"] or 0) / 1000,
        )


class DatabaseCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from self._runs()
        yield from self._sandboxes()
        yield from self._usage()
        yield from self._callbacks()
        yield self._task_queue()

    def _runs(self) -> Iterable[Metric]:
        started = CounterMetricFamily(
            "agentexec_runs_started", "Runs that started executing, by model.", labels=["model"]
        )
        rows = Run.objects.filter(started_at__isnull=False).order_by().values("model")
        for row in rows.annotate(n=Count("pk")):
            started.add_metric([row["model"]], row["n"])
        finished = CounterMetricFamily(
            "agentexec_runs_finished",
            "Runs that ended, by final status and model.",
            labels=["status", "model"],
        )
        rows = Run.objects.filter(status__in=TERMINAL_STATUSES).order_by().values("status", "model")
        for row in rows.annotate(n=Count("pk")):
            finished.add_metric([row["status"], row["model"]], row["n"])
        current = dict(
            Run.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        active = GaugeMetricFamily(
            "agentexec_runs_active", "Runs queued or running now.", labels=["status"]
        )
        for status in (RunStatus.QUEUED, RunStatus.RUNNING):
            active.add_metric([status.value], current.get(status.value, 0))
        duration = HistogramMetricFamily(
            "agentexec_run_duration_seconds", "Duration of ended runs, by model.", labels=["model"]
        )
        _histogram(
            duration,
            Run.objects.filter(status__in=TERMINAL_STATUSES),
            label="model",
            field="duration_ms",
            buckets=RUN_DURATION_BUCKETS_S,
        )
        return [started, finished, active, duration]

    def _sandboxes(self) -> Iterable[Metric]:
        boot = HistogramMetricFamily(
            "agentexec_sandbox_boot_seconds",
            "Time from sandbox start to a ready runtime, by provider.",
            labels=["provider"],
        )
        _histogram(
            boot,
            Sandbox.objects.all(),
            label="provider",
            field="boot_ms",
            buckets=SANDBOX_BOOT_BUCKETS_S,
        )
        return [boot]

    def _usage(self) -> Iterable[Metric]:
        tokens = CounterMetricFamily(
            "agentexec_llm_tokens",
            "Model tokens used, by model and direction (input or output).",
            labels=["model", "direction"],
        )
        cost = CounterMetricFamily(
            "agentexec_llm_cost_usd", "Model cost in US dollars, by model.", labels=["model"]
        )
        rows = (
            UsageEntry.objects.filter(kind=UsageKind.LLM)
            .order_by()
            .values("model")
            .annotate(
                input=Sum("prompt_tokens"),
                output=Sum("completion_tokens"),
                micros=Sum("cost_micros"),
            )
        )
        for row in rows:
            tokens.add_metric([row["model"], "input"], row["input"] or 0)
            tokens.add_metric([row["model"], "output"], row["output"] or 0)
            cost.add_metric([row["model"]], (row["micros"] or 0) / 1_000_000)
        return [tokens, cost]

    def _callbacks(self) -> Iterable[Metric]:
        rows: dict[str, dict[str, Any]] = {
            row["state"]: dict(row)
            for row in CallbackDelivery.objects.order_by()
            .values("state")
            .annotate(n=Count("pk"), attempts=Sum("attempts"))
        }
        deliveries = GaugeMetricFamily(
            "agentexec_callback_deliveries",
            "Callback deliveries by outcome (pending, delivered, failed = given up).",
            labels=["outcome"],
        )
        attempts = CounterMetricFamily(
            "agentexec_callback_attempts",
            "HTTP attempts made for callback deliveries, by the delivery's outcome.",
            labels=["outcome"],
        )
        for state in DeliveryState:
            row = rows.get(state.value, {})
            deliveries.add_metric([state.value], row.get("n", 0))
            attempts.add_metric([state.value], row.get("attempts") or 0)
        return [deliveries, attempts]

    def _task_queue(self) -> Metric:
        queue = GaugeMetricFamily(
            "agentexec_task_queue_size", "Tasks waiting in the django-q queue (-1: unreadable)."
        )
        try:
            size = get_broker().queue_size()
        except Exception:  # the broker is down: the metric says so rather than failing the scrape
            size = -1
        queue.add_metric([], size if size is not None else -1)
        return queue


def registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return registry


def _authorized(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        return True
    sent = request.headers.get("Authorization", "")
    return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())


@get_only
def metrics(request: HttpRequest) -> HttpResponse:
    if not _authorized(request):
        body = error_body("authentication_error", "Send 'Authorization: Bearer <METRICS_TOKEN>'.")
        return JsonResponse(body, status=401, headers={"WWW-Authenticate": "Bearer"})
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)
