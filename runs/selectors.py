"""Reads shared by the API, the staff UI and the admin. Every API read is scoped to an
organization; another organization's id is simply not found."""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from agentexec.errors import ApplicationError, NotFoundError
from agentexec.tools.registry import ToolContext
from runs.models import Agent, Run, RunStep, UsageEntry

M = TypeVar("M", bound=Model)


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


def run_retried_execute(*, api_key_id: str, request_hash: str) -> Run | None:
    """The run an earlier attempt of the same execute started: same API key and body, still
    running, or ended within the last RUN_TIMEOUT_S."""
    recent = timezone.now() - timedelta(seconds=settings.RUN_TIMEOUT_S)
    return (
        Run.objects.filter(api_key_id=api_key_id, request_hash=request_hash)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=recent))
        .order_by("-created_at")
        .first()
    )


def agents_of(*, organization_id: str) -> QuerySet[Agent]:
    """The organization's live, persistent agents (ephemeral ones are never listed)."""
    return Agent.objects.filter(
        organization_id=organization_id, is_ephemeral=False, deleted_at=None
    )


def agent_get(*, organization_id: str, agent_id: str) -> Agent:
    agent = agents_of(organization_id=organization_id).filter(id=agent_id).first()
    if agent is None:
        raise NotFoundError(f"Agent {agent_id} not found.")
    return agent


def page(queryset: QuerySet[M], *, cursor: str | None, limit: int) -> tuple[list[M], bool]:
    """Cursor pagination, newest first: the cursor is the id of the previous page's last item
    and the page holds the items older than it."""
    ordered = queryset.order_by("-created_at", "-id")
    if cursor:
        anchor = queryset.filter(id=cursor).values("created_at", "id").first()
        if anchor is None:
            raise ApplicationError(
                f"cursor {cursor} is not an item of this list", fields={"cursor": ["unknown"]}
            )
        ordered = ordered.filter(
            Q(created_at__lt=anchor["created_at"])
            | Q(created_at=anchor["created_at"], id__lt=anchor["id"])
        )
    items = list(ordered[: limit + 1])
    return items[:limit], len(items) > limit


def tool_context(run: Run) -> ToolContext:
    """What the run's host tools may know of it: its organization, id and scope."""
    agent = run.agent if run.agent_id else None
    return ToolContext(
        organization_id=run.organization_id,
        run_id=run.id,
        vault_ids=tuple(run.vault_ids or ()),
        agent_vault_ids=tuple((agent.vault_ids if agent else None) or ()),
        agent_vault_group_ids=tuple((agent.vault_groups if agent else None) or ()),
        object_ids=tuple(run.object_ids or ()),
    )
