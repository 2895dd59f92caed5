"""Input serializers name fields as they are on the wire, so errors name what the client sent."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from agentexec.llm import router
from agentexec.llm.base import ModelNotRoutable
from agentexec.tools import registry
from agentexec.webhooks import CallbackUrlError, check_callback_url
from runs.models import Agent, RunStatus
from runs.services import AgentParams, RunParams
from vaults.selectors import run_scope_errors


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

    def validate_memoryMiB(self, value: int) -> int:
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


def check_model(value: str) -> str:
    try:
        router.route(value)
    except ModelNotRoutable as exc:
        raise serializers.ValidationError(str(exc)) from exc
    return value


def check_prompt(value: str) -> str:
    if not value.strip():
        raise serializers.ValidationError("must not be empty")
    if len(value) > settings.MAX_PROMPT_CHARS:
        raise serializers.ValidationError(
            f"is {len(value)} characters; the limit is MAX_PROMPT_CHARS={settings.MAX_PROMPT_CHARS}"
        )
    return value


def scope_errors(
    organization_id: str,
    vault_ids: list[str] | None,
    object_ids: list[str] | None,
    group_ids: list[str] | None = None,
) -> dict[str, list[str]]:
    """Unknown or foreign vault/object ids."""
    return run_scope_errors(
        organization_id=organization_id,
        vault_ids=vault_ids,
        object_ids=object_ids,
        group_ids=group_ids,
    )


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
        return check_model(value)

    def validate_enabledTools(self, value: list[str] | None) -> list[str] | None:
        return validate_tool_names(value, must_be_available=True)

    def validate_disabledTools(self, value: list[str] | None) -> list[str] | None:
        return validate_tool_names(value, must_be_available=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("enabledTools") is not None and attrs.get("disabledTools") is not None:
            message = "enabledTools and disabledTools are mutually exclusive: set one, not both"
            raise serializers.ValidationError(
                {"enabledTools": [message], "disabledTools": [message]}
            )
        errors = scope_errors(
            self.context["organization"].id,
            attrs.get("vaultIds"),
            attrs.get("objectIds"),
            attrs.get("vaultGroups"),
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class ExecuteInputSerializer(AgentConfigSerializer):
    prompt = StrictCharField(max_length=None, trim_whitespace=False)
    guidance = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=100_000
    )
    objectIds = id_list()
    agentRuntime = StrictBooleanField(required=False)

    def validate_prompt(self, value: str) -> str:
        return check_prompt(value)

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


# -- agents -----------------------------------------------------------------------------------


class AgentCreateInputSerializer(AgentConfigSerializer):
    name = StrictCharField(max_length=200)
    instructions = StrictCharField(max_length=100_000)
    description = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=10_000
    )
    vaultGroups = id_list()

    def to_params(self) -> AgentParams:
        data = self.validated_data
        sandbox = data.get("sandbox") or {}
        return AgentParams(
            name=data["name"],
            instructions=data["instructions"],
            description=data.get("description") or "",
            model=data.get("model"),
            vault_ids=data.get("vaultIds"),
            vault_groups=data.get("vaultGroups"),
            enabled_tools=data.get("enabledTools"),
            disabled_tools=data.get("disabledTools"),
            sandbox_cpu=sandbox.get("cpu"),
            sandbox_memory_mib=sandbox.get("memoryMiB"),
        )


class AgentUpdateInputSerializer(AgentCreateInputSerializer):
    """PATCH: every field optional; only the fields given change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


# -- runs -------------------------------------------------------------------------------------


def callback_url_field() -> StrictCharField:
    return StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=2000)


def validate_callback(value: str | None) -> str:
    if not value:
        return ""
    try:
        return check_callback_url(value)
    except CallbackUrlError as exc:
        raise serializers.ValidationError(str(exc)) from exc


class RunCreateInputSerializer(serializers.Serializer):
    agentId = StrictCharField(max_length=64)
    prompt = StrictCharField(max_length=None, trim_whitespace=False)
    guidance = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=100_000
    )
    model = StrictCharField(required=False, allow_null=True, max_length=200)
    objectIds = id_list()
    callbackUrl = callback_url_field()

    def validate_prompt(self, value: str) -> str:
        return check_prompt(value)

    def validate_model(self, value: str | None) -> str | None:
        return check_model(value) if value else None

    def validate_callbackUrl(self, value: str | None) -> str:
        return validate_callback(value)

    def validate_agentId(self, value: str) -> Agent:
        agent = Agent.objects.filter(
            id=value, organization=self.context["organization"], deleted_at=None, is_ephemeral=False
        ).first()
        if agent is None:
            raise serializers.ValidationError(f"agent {value} not found")
        return agent

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        agent = attrs["agentId"]
        scope = scope_errors(
            agent.organization_id,
            agent.vault_ids or None,
            attrs.get("objectIds"),
            agent.vault_groups or None,
        )
        if scope:
            raise serializers.ValidationError(scope)
        return attrs


class RunWatchInputSerializer(serializers.Serializer):
    callbackUrl = StrictCharField(max_length=2000)

    def validate_callbackUrl(self, value: str) -> str:
        return validate_callback(value)


class ListParamsSerializer(serializers.Serializer):
    cursor = StrictCharField(required=False, max_length=64)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=250, default=50)


class RunListParamsSerializer(ListParamsSerializer):
    agentId = StrictCharField(required=False, max_length=64)
    status = serializers.ChoiceField(required=False, choices=RunStatus.choices)
