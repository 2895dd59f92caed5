"""The HTTP model providers: which exist, how they are built from settings, what routes where.

`build(name)` is what router.provider_for calls for a non-local route; `describe()` is what
GET /agent/v1/models shows (ids, base URLs and routing only, never a key). The helpers below
are shared by the Anthropic and OpenAI-compatible clients.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agentexec.llm import pricing, router
from agentexec.llm.base import ModelError, ModelNotRoutable, ModelProvider, ToolSchema
from agentexec.llm.http import setting
from agentexec.llm.local import LOCAL_MODELS

PROVIDERS = ("anthropic", "openai", "gateway")
DEFAULT_ANTHROPIC_BASE_URL = "https://api.anthropic.com"
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"


def build(provider_name: str) -> ModelProvider:
    """The configured client for a provider name; ModelNotRoutable names the missing setting."""
    from agentexec.llm.anthropic import AnthropicProvider
    from agentexec.llm.openai import OpenAIChatProvider

    if provider_name == "anthropic":
        key = setting("ANTHROPIC_API_KEY", "")
        if not key:
            raise ModelNotRoutable("the anthropic provider needs ANTHROPIC_API_KEY")
        return AnthropicProvider(
            api_key=key,
            base_url=setting("ANTHROPIC_BASE_URL", "") or DEFAULT_ANTHROPIC_BASE_URL,
            version=setting("ANTHROPIC_VERSION", "") or DEFAULT_ANTHROPIC_VERSION,
        )
    if provider_name == "openai":
        key = setting("OPENAI_API_KEY", "")
        if not key:
            raise ModelNotRoutable("the openai provider needs OPENAI_API_KEY")
        return OpenAIChatProvider(
            name="openai",
            api_key=key,
            base_url=setting("OPENAI_BASE_URL", "") or DEFAULT_OPENAI_BASE_URL,
            strip_prefix="openai/",
            max_tokens_field="max_completion_tokens",
        )
    if provider_name == "gateway":
        url = setting("LLM_GATEWAY_URL", "")
        if not url:
            raise ModelNotRoutable("the gateway provider needs LLM_GATEWAY_URL")
        return OpenAIChatProvider(
            name="gateway",
            api_key=setting("LLM_GATEWAY_API_KEY", ""),
            base_url=url,
            strip_prefix=None,
            max_tokens_field="max_tokens",
        )
    raise ValueError(f"unknown model provider {provider_name!r}; known: {', '.join(PROVIDERS)}")


def public_url(url: str) -> str:
    """A base URL fit to show: no user:password@, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def describe() -> dict[str, Any]:
    """Which providers are configured and which model ids route where (never keys)."""
    anthropic = bool(setting("ANTHROPIC_API_KEY", ""))
    openai = bool(setting("OPENAI_API_KEY", ""))
    gateway = bool(setting("LLM_GATEWAY_URL", ""))
    providers = [
        {
            "name": "local",
            "configured": True,
            "baseUrl": None,
            "routes": [m for m in LOCAL_MODELS if _local_enabled(m)],
            "enabledBy": None,
        },
        {
            "name": "anthropic",
            "configured": anthropic,
            "baseUrl": public_url(setting("ANTHROPIC_BASE_URL", "") or DEFAULT_ANTHROPIC_BASE_URL),
            "routes": ["anthropic/*"] if anthropic else [],
            "enabledBy": "ANTHROPIC_API_KEY",
        },
        {
            "name": "openai",
            "configured": openai,
            "baseUrl": public_url(setting("OPENAI_BASE_URL", "") or DEFAULT_OPENAI_BASE_URL),
            "routes": ["openai/*"] if openai else [],
            "enabledBy": "OPENAI_API_KEY",
        },
        {
            "name": "gateway",
            "configured": gateway,
            "baseUrl": public_url(setting("LLM_GATEWAY_URL", "")) if gateway else None,
            # The gateway takes every vendor/name id the direct providers above do not.
            "routes": ["*/*"] if gateway else [],
            "enabledBy": "LLM_GATEWAY_URL",
        },
    ]
    return {"providers": providers, "models": _models()}


def _local_enabled(model: str) -> bool:
    return model != "local/scripted" or router.scripted_enabled()


def _models() -> list[dict[str, Any]]:
    prices = pricing.load_prices()
    ids = list(LOCAL_MODELS) + sorted(m for m in prices if not m.startswith("local/"))
    models = []
    for model_id in ids:
        try:
            provider: str | None = router.route(model_id).provider_name
            reason = None
        except ModelNotRoutable as exc:
            provider, reason = None, str(exc)
        price = prices.get(model_id)
        models.append(
            {
                "id": model_id,
                "provider": provider,
                "routable": provider is not None,
                "unavailableReason": reason,
                "pricing": price.as_dict() if price else None,
            }
        )
    return models


# --- shared by the wire-format clients -------------------------------------------------------

_WIRE_NAME_OK = re.compile(r"[^a-zA-Z0-9_-]")


class ToolNames:
    """Reversible wire names: tool names have dots (vault.search) but the providers accept only
    ^[a-zA-Z0-9_-]{1,64}$, so "." goes out as "__" and comes back as "."."""

    def __init__(self, tools: list[ToolSchema]) -> None:
        self._original: dict[str, str] = {}
        for tool in tools:
            self.wire(tool.name)

    def wire(self, name: str) -> str:
        wire = _WIRE_NAME_OK.sub("_", name.replace(".", "__"))[:64] or "tool"
        self._original.setdefault(wire, name)
        return wire

    def original(self, wire: str) -> str:
        return self._original.get(wire) or wire.replace("__", ".")


def blocks(message: Any, index: int) -> tuple[str, list[dict[str, Any]]]:
    """A provider-neutral message's role and content blocks, or ModelError if it is malformed."""
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        raise ModelError(f"messages[{index}] needs a role of 'user' or 'assistant'")
    content = message.get("content")
    if isinstance(content, str):
        return message["role"], [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise ModelError(f"messages[{index}].content must be a list of blocks")
    return message["role"], content


def int_field(data: dict[str, Any], key: str, provider: str, *, required: bool = True) -> int:
    value = data.get(key)
    if value is None and not required:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ModelError(f"{provider} sent a malformed response (usage.{key} is {value!r})")
    return value
