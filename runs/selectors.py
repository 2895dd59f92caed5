"""Reads shared by the API, the staff UI and the admin. Every API read is scoped to an
organization; another organization's id is simply not found."""

from __future__ import annotations

from django.db.models import QuerySet

from agentexec.errors import NotFoundError
from runs.models import Run, RunStep, UsageEntry


def runs_of(*, organization_id: str) -> QuerySet[Run]:
    return Run.objects.filter(organization_id=organization_id)


def run_get(*, organization_id: str, run_id: str) -> Run:
    run = runs_of(organization_id=organization_id).filter(id=run_id).first()
    if run is None:
        raise NotFoundError(f"Run {run_id} not found.")
    return run


def run_steps(*, run: Run) -> QuerySet[RunStep]:
    return run.steps.order_by("sequence")


def run_usage_entries(*, run: Run) -> QuerySet[UsageEntry]:
    return run.usage_entries.order_by("created_at", "id")
