"""Reads for the staff UI: staff see every organization, so nothing here is scoped to one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from agentexec.tenancy.models import ApiKey
from runs.models import CallbackDelivery, Run, RunStep, Watcher
from sandboxes.models import Sandbox

# The list never needs the large text columns; the review page loads them for one run.
LIST_DEFERRED = (
    "prompt", "instructions", "guidance", "output", "error", "final_response",
    "logs_runner", "logs_linc",
)  # fmt: skip


@dataclass(frozen=True)
class RunFilters:
    status: str = ""
    model: str = ""
    organization_id: str = ""
    api_key_id: str = ""
    date_from: date | None = None
    date_to: date | None = None  # inclusive
    text: str = ""


def day_start(day: date) -> datetime:
    """Midnight starting `day` in the current time zone (UTC unless configured otherwise)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def runs_filtered(*, filters: RunFilters) -> QuerySet[Run]:
    """Runs matching every given filter, newest first (served by run_recent_idx)."""
    runs = Run.objects.select_related("organization", "api_key", "agent").defer(*LIST_DEFERRED)
    if filters.status:
        runs = runs.filter(status=filters.status)
    if filters.model:
        runs = runs.filter(model=filters.model)
    if filters.organization_id:
        runs = runs.filter(organization_id=filters.organization_id)
    if filters.api_key_id:
        runs = runs.filter(api_key_id=filters.api_key_id)
    if filters.date_from:
        runs = runs.filter(created_at__gte=day_start(filters.date_from))
    if filters.date_to:
        runs = runs.filter(created_at__lt=day_start(filters.date_to + timedelta(days=1)))
    text = filters.text.strip()
    if text:
        runs = runs.filter(Q(id=text) | Q(prompt__icontains=text) | Q(output__icontains=text))
    return runs.order_by("-created_at", "-id")


def run_models() -> list[str]:
    """Every model a run has used, for the model filter."""
    return list(Run.objects.order_by("model").values_list("model", flat=True).distinct())


def api_keys() -> QuerySet[ApiKey]:
    return ApiKey.objects.select_related("organization").order_by("organization__name", "name")


def run_for_review(*, run_id: str) -> Run | None:
    return Run.objects.select_related("organization", "api_key", "agent").filter(id=run_id).first()


def run_steps_after(*, run: Run, sequence: int) -> QuerySet[RunStep]:
    return run.steps.filter(sequence__gt=sequence).order_by("sequence")


def run_sandboxes(*, run: Run) -> QuerySet[Sandbox]:
    return Sandbox.objects.filter(run=run).order_by("created_at")


def run_watchers(*, run: Run) -> QuerySet[Watcher]:
    return Watcher.objects.filter(run=run).order_by("created_at", "id")


def run_deliveries(*, run: Run) -> QuerySet[CallbackDelivery]:
    return CallbackDelivery.objects.filter(run=run).order_by("created_at", "id")
