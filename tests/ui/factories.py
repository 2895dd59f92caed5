"""Runs, steps and usage entries for the staff UI tests, with timestamps set explicitly."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentexec.tenancy.models import ApiKey, Organization
from runs.models import Agent, Run, RunStep, UsageEntry


def make_run(
    *,
    organization: Organization,
    api_key: ApiKey | None = None,
    created_at: datetime | None = None,
    **fields: Any,
) -> Run:
    fields.setdefault("prompt", "Summarise the agreement.")
    fields.setdefault("model", "local/echo")
    agent = Agent.objects.create(
        organization=organization, name=f"agent-{Agent.objects.count()}", model=fields["model"]
    )
    run = Run.objects.create(agent=agent, organization=organization, api_key=api_key, **fields)
    if created_at is not None:
        Run.objects.filter(id=run.id).update(created_at=created_at)
        run.refresh_from_db()
    return run


def make_step(run: Run, sequence: int, type: str = "output", **fields: Any) -> RunStep:
    return RunStep.objects.create(run=run, sequence=sequence, type=type, **fields)


def make_usage(
    run: Run, *, created_at: datetime | None = None, kind: str = "llm", **fields: Any
) -> UsageEntry:
    fields.setdefault("model", run.model if kind == "llm" else "")
    entry = UsageEntry.objects.create(
        run=run, organization=run.organization, api_key=run.api_key, kind=kind, **fields
    )
    if created_at is not None:
        UsageEntry.objects.filter(id=entry.id).update(created_at=created_at)
        entry.refresh_from_db()
    return entry
