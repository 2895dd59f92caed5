"""The wire format of agents and runs: every JSON body the service sends about a run — API
responses, run events (and so the SSE stream), callback payloads — is built here, from the
stored rows. Pure functions of models: no queries of their own beyond the rows' relations, no
writes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runs.models import (
    Agent,
    Citation,
    CitationStatus,
    Run,
    RunEvent,
    RunStatus,
    RunStep,
    UsageEntry,
)

# -- execute ----------------------------------------------------------------------------------


def execute_output(run: Run) -> dict[str, Any]:
    """The synchronous execute response, built from the stored run."""
    return {
        "runId": run.id,
        "agentId": run.agent_id,
        "status": run.status,
        "provider": run.provider,
        "runtimeId": run.runtime_id,
        "runtimeState": run.runtime_state,
        "output": run.output,
        "error": run.error,
        "logs": logs_output(run),
        "usage": usage_output(run),
        **citations_fields(run),
    }


def execute_queued_output(run: Run) -> dict[str, Any]:
    """execute with agentRuntime: the run is on the worker; the client polls."""
    return {
        "runId": run.id,
        "agentId": run.agent_id,
        "status": "running",
        "provider": run.provider or None,
        "runtimeState": "running",
        "message": f"Run started. Poll /agent/v1/run/{run.id}/status for progress "
        f"and /agent/v1/run/{run.id}/details for the result.",
    }


def logs_output(run: Run) -> dict[str, Any]:
    """The host's (runner) and the runtime's (linc) logs so far."""
    return {"runner": run.logs_runner, "linc": run.logs_linc}


def usage_output(run: Run) -> dict[str, Any]:
    """A run's usage totals, as execute answers them and details extends them."""
    return {
        "model": run.model,
        "inputTokens": run.input_tokens,
        "outputTokens": run.output_tokens,
        "toolCalls": run.tool_calls,
        "durationMs": run.duration_ms,
    }


# -- runs -------------------------------------------------------------------------------------


def run_created_output(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "agentId": run.agent_id,
        "status": run.status,
        "objectIds": run.object_ids,
        "createdAt": run.created_at,
    }


def run_list_item(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "agentId": run.agent_id,
        "status": run.status,
        "model": run.model,
        "prompt": run.prompt[:200],
        "createdAt": run.created_at,
        "startedAt": run.started_at,
        "completedAt": run.completed_at,
    }


def run_exec_output(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": "running",
        "workflowId": run.workflow_id or None,
        "message": f"Run queued on the worker. Poll /agent/v1/run/{run.id}/status.",
    }


def run_cancel_output(run: Run, *, cancelled: bool) -> dict[str, Any]:
    if cancelled:
        return {"id": run.id, "status": RunStatus.CANCELLED, "message": "Run cancelled."}
    return {"id": run.id, "status": run.status, "message": f"Run already {run.status}."}


def run_watch_output(callback_url: str) -> dict[str, Any]:
    return {"ok": True, "callbackUrl": callback_url}


def status_output(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "status": run.status,
        "startedAt": run.started_at,
        "completedAt": run.completed_at,
        "durationMs": run.duration_ms,
    }


def step_output(step: RunStep) -> dict[str, Any]:
    return {
        "id": step.id,
        "type": step.type,
        "content": step.content,
        "toolName": step.tool_name,
        "toolInput": step.tool_input,
        "toolOutput": step.tool_output,
        "isError": step.is_error,
        "durationMs": step.duration_ms,
        "source": step.source,
        "timestamp": step.created_at,
    }


def usage_entry_output(entry: UsageEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "model": entry.model or None,
        "promptTokens": entry.prompt_tokens,
        "completionTokens": entry.completion_tokens,
        "totalTokens": entry.total_tokens,
        "costMicros": entry.cost_micros,
        "service": entry.service or None,
        "endpoint": entry.endpoint or None,
        "method": entry.method or None,
        "statusCode": entry.status_code,
        "metadata": entry.metadata,
        "timestamp": entry.created_at,
    }


def details_output(
    run: Run, *, steps: Iterable[RunStep], entries: Iterable[UsageEntry]
) -> dict[str, Any]:
    """A run's result, steps and usage; the caller reads the steps and entries (selectors)."""
    final = run.final_response or {}
    return {
        "id": run.id,
        "agentId": run.agent_id,
        "status": run.status,
        "prompt": run.prompt,
        "guidance": run.guidance,
        "model": run.model,
        "provider": run.provider or None,
        "runtimeId": run.runtime_id or None,
        "runtimeState": run.runtime_state or None,
        "workflowId": run.workflow_id or None,
        "modalSandboxId": None,
        "error": run.error,
        "createdAt": run.created_at,
        "startedAt": run.started_at,
        "completedAt": run.completed_at,
        "result": {
            "output": run.output,
            # `runtime` is what the SDK reads; `linc` names the same log after our runtime.
            "logs": {
                "runner": run.logs_runner,
                "runtime": run.logs_linc,
                "linc": run.logs_linc,
                "opencode": None,
            },
            "finalResponse": {
                "summary": final.get("summary"),
                "issues": final.get("issues", []),
                "createdObjectIds": final.get("createdObjectIds", run.output_object_ids),
            },
            "outputObjectIds": run.output_object_ids,
        },
        "steps": [step_output(s) for s in steps],
        "usage": {
            **usage_output(run),
            "entries": [usage_entry_output(e) for e in entries],
            "summary": {
                "totalInputTokens": run.input_tokens,
                "totalOutputTokens": run.output_tokens,
                "totalTokens": run.input_tokens + run.output_tokens,
                "costMicros": run.cost_micros,
            },
        },
        **citations_fields(run),
    }


# -- events and callbacks ---------------------------------------------------------------------


def status_event_data(run: Run, status: str, **extra: Any) -> dict[str, Any]:
    """The data of a run.<status> event."""
    return {"runId": run.id, "status": status, **extra}


def step_event_data(step: RunStep) -> dict[str, Any]:
    """The data of a run.step event."""
    return {"runId": step.run_id, **step_output(step)}


def event_output(event: RunEvent) -> dict[str, Any]:
    """An event as a Server-Sent Events frame carries it in `data:`."""
    return {
        "sequence": event.sequence,
        "type": event.type,
        "timestamp": event.created_at,
        **event.data,
    }


def callback_output(run: Run) -> dict[str, Any]:
    """The run a callback reports once it has ended (the `data` of the webhook payload)."""
    return {
        "id": run.id,
        "agentId": run.agent_id,
        "status": run.status,
        "model": run.model,
        "output": run.output,
        "error": run.error,
        "createdAt": run.created_at,
        "startedAt": run.started_at,
        "completedAt": run.completed_at,
        "durationMs": run.duration_ms,
        "usage": {
            "inputTokens": run.input_tokens,
            "outputTokens": run.output_tokens,
            "toolCalls": run.tool_calls,
            "costMicros": run.cost_micros,
        },
    }


# -- agents -----------------------------------------------------------------------------------


def agent_output(agent: Agent, *, full: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": agent.id,
        "name": agent.name,
        "description": agent.description,
        "model": agent.model,
        "vaultIds": agent.vault_ids,
        "isActive": agent.deleted_at is None,
        "createdAt": agent.created_at,
        "updatedAt": agent.updated_at,
    }
    if full:
        sandbox = None
        if agent.sandbox_cpu or agent.sandbox_memory_mib:
            sandbox = {"cpu": agent.sandbox_cpu, "memoryMiB": agent.sandbox_memory_mib}
        data.update(
            instructions=agent.instructions,
            enabledTools=agent.enabled_tools,
            disabledTools=agent.disabled_tools,
            vaultGroups=agent.vault_groups,
            sandbox=sandbox,
        )
    return data


def agent_list_output(agents: list[Agent], *, has_more: bool) -> dict[str, Any]:
    return {
        "agents": [agent_output(a, full=False) for a in agents],
        "hasMore": has_more,
        "nextCursor": agents[-1].id if has_more else None,
    }


def run_list_output(runs: list[Run], *, has_more: bool) -> dict[str, Any]:
    return {
        "runs": [run_list_item(r) for r in runs],
        "hasMore": has_more,
        "nextCursor": runs[-1].id if has_more else None,
    }


def ok_output() -> dict[str, Any]:
    return {"ok": True}


# -- citations: `citations` and `grounding` in execute responses and run details (added
# fields; a client that does not know them ignores them) --

_COUNT_KEYS = {
    CitationStatus.VERIFIED: "verified",
    CitationStatus.ALTERED: "altered",
    CitationStatus.NOT_FOUND: "notFound",
}


def citation_output(citation: Citation) -> dict[str, Any]:
    altered = citation.status == CitationStatus.ALTERED
    return {
        "quote": citation.quote,
        "status": citation.status,
        "objectId": citation.object_id,
        "vaultId": citation.vault_id or None,
        "filename": citation.filename or None,
        "pageStart": citation.page_start,
        "pageEnd": citation.page_end,
        "section": citation.section or None,
        "charStart": citation.char_start,
        "charEnd": citation.char_end,
        "matchedText": citation.matched_text if altered else None,
        "similarity": citation.similarity,
        "diff": citation.diff if altered else None,
    }


def grounding_output(citations: list[Citation]) -> dict[str, int]:
    """How many quotations the output has, and how many of each status."""
    counts = {"quotes": len(citations), "verified": 0, "altered": 0, "notFound": 0}
    for citation in citations:
        counts[_COUNT_KEYS[CitationStatus(citation.status)]] += 1
    return counts


def citations_fields(run: Run) -> dict[str, Any]:
    """The two keys execute and details add: `citations` and `grounding`."""
    citations = list(run.citations.order_by("index"))
    return {
        "citations": [citation_output(c) for c in citations],
        "grounding": grounding_output(citations),
    }
