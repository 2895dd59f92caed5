"""The one place tests build organizations, agents, runs, steps and usage entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import factory

from agentexec.tenancy.models import ApiKey, Organization
from runs.models import Agent, Run, RunStep, UsageEntry


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"org-{n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"agent-{n}")
    instructions = "You are a careful legal assistant."
    model = "local/echo"


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    organization = factory.SelfAttribute("agent.organization")
    agent = factory.SubFactory(AgentFactory)
    prompt = "Summarise the agreement."
    model = "local/echo"


def _backdate(model: type[Any], row: Any, created_at: datetime | None) -> None:
    if created_at is not None:
        model.objects.filter(id=row.id).update(created_at=created_at)
        row.refresh_from_db()


def make_run(
    *,
    organization: Organization,
    api_key: ApiKey | None = None,
    created_at: datetime | None = None,
    agent_fields: dict[str, Any] | None = None,
    **fields: Any,
) -> Run:
    """A run of its own agent (the agent's model follows the run's), optionally backdated."""
    model = fields.setdefault("model", "local/echo")
    agent = AgentFactory(organization=organization, model=model, **(agent_fields or {}))
    run = RunFactory.create(agent=agent, organization=organization, api_key=api_key, **fields)
    _backdate(Run, run, created_at)
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
    _backdate(UsageEntry, entry, created_at)
    return entry
