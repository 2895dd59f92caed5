"""Which provider serves a model id ("vendor/name"), and the default model."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from agentexec.llm import providers
from agentexec.llm.base import ModelNotRoutable, ModelProvider
from agentexec.llm.local import LOCAL_MODELS, LocalProvider

PREFERRED_DEFAULT = "anthropic/claude-sonnet-4.6"
OFFLINE_DEFAULT = "local/extractive"


@dataclass(frozen=True)
class Route:
    model: str
    provider_name: str  # "local", "anthropic", "openai", "gateway"


def scripted_enabled() -> bool:
    return bool(settings.ALLOW_SCRIPTED_MODEL or settings.DEBUG)


def route(model: str) -> Route:
    """The route for a model id, or ModelNotRoutable naming what would enable it."""
    vendor, sep, name = model.partition("/")
    if not sep or not vendor or not name:
        raise ModelNotRoutable(f"model ids look like 'vendor/name' (got {model!r})")
    if vendor == "local":
        if model not in LOCAL_MODELS:
            raise ModelNotRoutable(
                f"unknown local model {model!r}; known: {', '.join(LOCAL_MODELS)}"
            )
        if model == "local/scripted" and not scripted_enabled():
            raise ModelNotRoutable(
                "local/scripted is disabled; set ALLOW_SCRIPTED_MODEL=1 (or DEBUG=1) to enable it"
            )
        return Route(model, "local")
    if vendor == "anthropic" and settings.ANTHROPIC_API_KEY:
        return Route(model, "anthropic")
    if vendor == "openai" and settings.OPENAI_API_KEY:
        return Route(model, "openai")
    if settings.LLM_GATEWAY_URL:
        return Route(model, "gateway")
    direct = {"anthropic": "ANTHROPIC_API_KEY or ", "openai": "OPENAI_API_KEY or "}.get(vendor, "")
    raise ModelNotRoutable(
        f"model {model!r} cannot be routed: set {direct}LLM_GATEWAY_URL to enable it"
    )


def default_model() -> str:
    if settings.DEFAULT_MODEL:
        return str(settings.DEFAULT_MODEL)
    try:
        route(PREFERRED_DEFAULT)
    except ModelNotRoutable:
        return OFFLINE_DEFAULT
    return PREFERRED_DEFAULT


def provider_for(selected: Route) -> ModelProvider:
    if selected.provider_name == "local":
        return LocalProvider()
    return providers.build(selected.provider_name)
