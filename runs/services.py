"""Writes for agents and runs. Status changes are compare-and-set updates whose count is checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agentexec.llm import router
from agentexec.llm.base import ModelReply
from agentexec.tenancy.models import ApiKey
from runs.models import Agent, Run, RunStatus, RunStep, UsageEntry, UsageKind

DEFAULT_INSTRUCTIONS = (
    "You are a careful legal assistant working for a legal team. Use the tools you are given to "
    "read the documents in scope, cite the document and page for every finding, and say plainly "
    "when something is not in the documents."
)


@dataclass(frozen=True)
class RunParams:
    """What a client asked for, already validated."""

    prompt: str
    instructions: str | None = None
    guidance: str | None = None
    model: str | None = None
    vault_ids: list[str] | None = None
    object_ids: list[str] | None = None
    enabled_tools: list[str] | None = None
    disabled_tools: list[str] | None = None
    sandbox_cpu: int | None = None
    sandbox_memory_mib: int | None = None


@transaction.atomic
def run_create_ephemeral(*, api_key: ApiKey, params: RunParams, status: str) -> Run:
    """An ephemeral agent and its run, in one transaction (execute)."""
    model = params.model or router.default_model()
    agent = Agent.objects.create(
        organization_id=api_key.organization_id,
        name=f"ephemeral-{timezone.now():%Y%m%dT%H%M%S}",
        instructions=params.instructions or DEFAULT_INSTRUCTIONS,
        model=model,
        enabled_tools=params.enabled_tools,
        disabled_tools=params.disabled_tools,
        vault_ids=params.vault_ids or [],
        sandbox_cpu=params.sandbox_cpu,
        sandbox_memory_mib=params.sandbox_memory_mib,
        is_ephemeral=True,
    )
    now = timezone.now()
    return Run.objects.create(
        organization_id=api_key.organization_id,
        agent=agent,
        api_key=api_key,
        status=status,
        prompt=params.prompt,
        instructions=agent.instructions,
        guidance=params.guidance,
        model=model,
        vault_ids=params.vault_ids or [],
        object_ids=params.object_ids or [],
        enabled_tools=params.enabled_tools,
        disabled_tools=params.disabled_tools,
        sandbox_cpu=params.sandbox_cpu or settings.SANDBOX_CPU_DEFAULT,
        sandbox_memory_mib=params.sandbox_memory_mib or settings.SANDBOX_MEMORY_MIB_DEFAULT,
        started_at=now if status == RunStatus.RUNNING else None,
        heartbeat_at=now if status == RunStatus.RUNNING else None,
    )


def execute(*, api_key: ApiKey, params: RunParams) -> Run:
    """POST /agent/v1/execute: create the run and execute it in this thread."""
    from runs.executor import run_execute

    run = run_create_ephemeral(api_key=api_key, params=params, status=RunStatus.RUNNING)
    run_execute(run)
    run.refresh_from_db()
    return run


def run_heartbeat(*, run_id: str) -> bool:
    """Marks the run alive; False when it is no longer running (cancelled or reaped)."""
    return bool(
        Run.objects.filter(id=run_id, status=RunStatus.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    )


def step_record(
    *,
    run: Run,
    sequence: int,
    type: str,
    content: str | None = None,
    tool_name: str | None = None,
    tool_input: Any = None,
    tool_output: Any = None,
    is_error: bool = False,
    duration_ms: int | None = None,
) -> RunStep:
    return RunStep.objects.create(
        run=run,
        sequence=sequence,
        type=type,
        content=content,
        tool_name=tool_name,
        tool_input=tool_input,
        tool_output=tool_output,
        is_error=is_error,
        duration_ms=duration_ms,
    )


def usage_record_llm(*, run: Run, reply: ModelReply, duration_ms: int) -> UsageEntry:
    from agentexec.llm.pricing import cost_micros

    usage = reply.usage
    cost = cost_micros(run.model, usage)
    metadata = {
        "provider": reply.provider,
        "providerModel": reply.model,
        "stopReason": reply.stop_reason,
        "estimated": usage.estimated,
        "cacheReadTokens": usage.cache_read_tokens,
        "cacheWriteTokens": usage.cache_write_tokens,
        "attempts": reply.attempts,
        "durationMs": duration_ms,
        **reply.metadata,
    }
    entry = UsageEntry.objects.create(
        run=run,
        organization_id=run.organization_id,
        api_key_id=run.api_key_id,
        kind=UsageKind.LLM,
        model=run.model,
        prompt_tokens=usage.input_tokens,
        completion_tokens=usage.output_tokens,
        total_tokens=usage.total_tokens,
        cost_micros=cost,
        service=reply.provider,
        metadata=metadata,
    )
    Run.objects.filter(id=run.id).update(
        input_tokens=F("input_tokens") + usage.input_tokens,
        output_tokens=F("output_tokens") + usage.output_tokens,
    )
    return entry


def usage_record_api(
    *,
    run: Run,
    tool_name: str,
    service: str,
    endpoint: str,
    method: str,
    status_code: int | None,
    metadata: dict[str, Any],
) -> UsageEntry:
    return UsageEntry.objects.create(
        run=run,
        organization_id=run.organization_id,
        api_key_id=run.api_key_id,
        kind=UsageKind.API,
        service=service or tool_name.split(".")[0],
        endpoint=endpoint or tool_name,
        method=method or "TOOL",
        status_code=status_code,
        metadata={"tool": tool_name, **metadata},
    )


_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+(.*\S)")


def final_response_for(output: str | None, created_object_ids: list[str]) -> dict[str, Any]:
    """The structured view of an answer: its first paragraph, and numbered findings as issues."""
    text = output or ""
    issues = [m.group(2) for line in text.splitlines() if (m := _NUMBERED.match(line))]
    summary = text.strip().split("\n\n", 1)[0][:2000] if text.strip() else ""
    return {"summary": summary, "issues": issues, "createdObjectIds": created_object_ids}


def run_finish(
    *,
    run: Run,
    status: str,
    output: str | None,
    error: str | None,
    logs_runner: str,
    logs_linc: str,
    output_object_ids: list[str],
    tool_calls: int,
) -> bool:
    """Ends a running run. Returns False if it was no longer running (cancelled or reaped): then
    its status and error stay as they are, but the logs and counters are still kept."""
    now = timezone.now()
    started = run.started_at or run.created_at
    duration_ms = max(0, int((now - started).total_seconds() * 1000))
    common = {
        "logs_runner": logs_runner,
        "logs_linc": logs_linc,
        "output_object_ids": output_object_ids,
        "tool_calls": tool_calls,
        "runtime_state": "ended",
        "cost_micros": _cost_total(run),
    }
    with transaction.atomic():
        won = Run.objects.filter(id=run.id, status=RunStatus.RUNNING).update(
            status=status,
            output=output,
            error=error,
            final_response=final_response_for(output, output_object_ids),
            completed_at=now,
            duration_ms=duration_ms,
            **common,
        )
        if not won:
            Run.objects.filter(id=run.id).update(**common)
        agent_release(agent_id=run.agent_id)
    return bool(won)


def _cost_total(run: Run) -> int | None:
    """Sum of the run's llm costs; unknown (None) if any model call has an unknown price."""
    costs = list(
        UsageEntry.objects.filter(run=run, kind=UsageKind.LLM).values_list("cost_micros", flat=True)
    )
    if not costs:
        return 0
    if any(c is None for c in costs):
        return None
    return sum(c for c in costs if c is not None)


def agent_release(*, agent_id: str) -> None:
    """An ephemeral agent is soft-deleted when its run ends."""
    Agent.objects.filter(id=agent_id, is_ephemeral=True, deleted_at=None).update(
        deleted_at=timezone.now()
    )


def run_cancel(*, run: Run) -> bool:
    """Cancels a queued or running run. A running run's executor notices within a heartbeat and
    kills the sandbox's whole process group; a queued run never starts. Returns False when the run
    had already ended (cancel is idempotent)."""
    now = timezone.now()
    with transaction.atomic():
        cancelled = Run.objects.filter(
            id=run.id, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).update(status=RunStatus.CANCELLED, completed_at=now, error="cancelled by request")
        if cancelled:
            agent_release(agent_id=run.agent_id)
    run.refresh_from_db()
    return bool(cancelled)
