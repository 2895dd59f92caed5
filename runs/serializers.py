"""Input serializers name fields as they are on the wire, so errors name what the client sent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agentexec.llm import router
from agentexec.llm.base import ModelNotRoutable
from agentexec.tools import registry
from runs import selectors
from runs.models import Run, RunStep, UsageEntry
from runs.services import RunParams


class StrictCharField(serializers.CharField):
    """A CharField that refuses numbers, booleans and objects instead of stringifying them."""

    default_error_messages = {"invalid": _("Must be a string.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return bool(data)


def id_list() -> serializers.ListField:
    return serializers.ListField(
        child=StrictCharField(max_length=64), required=False, allow_null=True, max_length=1000
    )


class SandboxInputSerializer(serializers.Serializer):
    cpu = serializers.IntegerField(required=False)
    memoryMiB = serializers.IntegerField(required=False)

    def validate_cpu(self, value: int) -> int:
        if not 1 <= value <= settings.SANDBOX_CPU_MAX:
            raise serializers.ValidationError(f"must be between 1 and {settings.SANDBOX_CPU_MAX}")
        return value

    def validate_memoryMiB(self, value: int) -> int:  # noqa: N802 - the wire name
        low, high = settings.SANDBOX_MEMORY_MIB_MIN, settings.SANDBOX_MEMORY_MIB_MAX
        if not low <= value <= high:
            raise serializers.ValidationError(f"must be between {low} and {high}")
        return value


def validate_tool_names(names: list[str] | None, *, must_be_available: bool) -> list[str] | None:
    if names is None:
        return None
    known = registry.known_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise serializers.ValidationError(
            f"unknown tool(s): {', '.join(unknown)}; known tools: {', '.join(known)}"
        )
    if must_be_available:
        for name in names:
            tool = registry.get(name)
            reason = tool.unavailable_reason() if tool else None
            if reason:
                raise serializers.ValidationError(f"tool {name} is unavailable: {reason}")
    return list(dict.fromkeys(names))


class AgentConfigSerializer(serializers.Serializer):
    """The fields an agent and an execute share: model, tools, scope, sandbox."""

    instructions = StrictCharField(required=False, allow_blank=True, max_length=100_000)
    model = StrictCharField(required=False, max_length=200)
    vaultIds = id_list()
    enabledTools = serializers.ListField(
        child=StrictCharField(max_length=100), required=False, allow_null=True
    )
    disabledTools = serializers.ListField(
        child=StrictCharField(max_length=100), required=False, allow_null=True
    )
    sandbox = SandboxInputSerializer(required=False, allow_null=True)

    def validate_model(self, value: str) -> str:
        try:
            router.route(value)
        except ModelNotRoutable as exc:
            raise serializers.ValidationError(str(exc)) from exc
        return value

    def validate_enabledTools(self, value: list[str] | None) -> list[str] | None:  # noqa: N802
        return validate_tool_names(value, must_be_available=True)

    def validate_disabledTools(self, value: list[str] | None) -> list[str] | None:  # noqa: N802
        return validate_tool_names(value, must_be_available=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("enabledTools") is not None and attrs.get("disabledTools") is not None:
            message = "enabledTools and disabledTools are mutually exclusive: set one, not both"
            raise serializers.ValidationError({"enabledTools": [message], "disabledTools": [message]})
        errors = self.scope_errors(attrs)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs

    def scope_errors(self, attrs: dict[str, Any]) -> dict[str, list[str]]:
        from django.apps import apps

        if not apps.is_installed("vaults"):
            return {}
        from vaults.selectors import run_scope_errors

        return run_scope_errors(
            organization_id=self.context["organization"].id,
            vault_ids=attrs.get("vaultIds"),
            object_ids=attrs.get("objectIds"),
        )


class ExecuteInputSerializer(AgentConfigSerializer):
    prompt = StrictCharField(max_length=None, trim_whitespace=False)
    guidance = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=100_000)
    objectIds = id_list()
    agentRuntime = StrictBooleanField(required=False)

    def validate_prompt(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("must not be empty")
        if len(value) > settings.MAX_PROMPT_CHARS:
            raise serializers.ValidationError(
                f"is {len(value)} characters; the limit is MAX_PROMPT_CHARS={settings.MAX_PROMPT_CHARS}"
            )
        return value

    def to_params(self) -> RunParams:
        data = self.validated_data
        sandbox = data.get("sandbox") or {}
        return RunParams(
            prompt=data["prompt"],
            instructions=data.get("instructions") or None,
            guidance=data.get("guidance"),
            model=data.get("model"),
            vault_ids=data.get("vaultIds"),
            object_ids=data.get("objectIds"),
            enabled_tools=data.get("enabledTools"),
            disabled_tools=data.get("disabledTools"),
            sandbox_cpu=sandbox.get("cpu"),
            sandbox_memory_mib=sandbox.get("memoryMiB"),
        )


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
        "logs": {"runner": run.logs_runner, "linc": run.logs_linc},
        "usage": {
            "model": run.model,
            "inputTokens": run.input_tokens,
            "outputTokens": run.output_tokens,
            "toolCalls": run.tool_calls,
            "durationMs": run.duration_ms,
        },
    }


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


def details_output(run: Run) -> dict[str, Any]:
    steps = [step_output(s) for s in selectors.run_steps(run=run)]
    entries = [usage_entry_output(e) for e in selectors.run_usage_entries(run=run)]
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
        "error": run.error,
        "createdAt": run.created_at,
        "startedAt": run.started_at,
        "completedAt": run.completed_at,
        "result": {
            "output": run.output,
            "logs": {"runner": run.logs_runner, "linc": run.logs_linc},
            "finalResponse": {
                "summary": final.get("summary"),
                "issues": final.get("issues", []),
                "createdObjectIds": final.get("createdObjectIds", run.output_object_ids),
            },
            "outputObjectIds": run.output_object_ids,
        },
        "steps": steps,
        "usage": {
            "model": run.model,
            "inputTokens": run.input_tokens,
            "outputTokens": run.output_tokens,
            "toolCalls": run.tool_calls,
            "durationMs": run.duration_ms,
            "entries": entries,
            "summary": {
                "totalInputTokens": run.input_tokens,
                "totalOutputTokens": run.output_tokens,
                "totalTokens": run.input_tokens + run.output_tokens,
                "costMicros": run.cost_micros,
            },
        },
    }
