"""The HTTP model providers and how each is built from settings.

`build(name)` is what router.provider_for calls for a non-local route.
"""

from __future__ import annotations

from django.conf import settings

from agentexec.llm.anthropic import AnthropicProvider
from agentexec.llm.base import ModelNotRoutable, ModelProvider
from agentexec.llm.openai import OpenAIChatProvider

PROVIDERS = ("anthropic", "openai", "gateway")


def build(provider_name: str) -> ModelProvider:
    """The configured client for a provider name; ModelNotRoutable names the missing setting."""
    if provider_name == "anthropic":
        key = settings.ANTHROPIC_API_KEY
        if not key:
            raise ModelNotRoutable("the anthropic provider needs ANTHROPIC_API_KEY")
        return AnthropicProvider(
            api_key=key,
            base_url=settings.ANTHROPIC_BASE_URL,
            version=settings.ANTHROPIC_VERSION,
        )
    if provider_name == "openai":
        key = settings.OPENAI_API_KEY
        if not key:
            raise ModelNotRoutable("the openai provider needs OPENAI_API_KEY")
        return OpenAIChatProvider(
            name="openai",
            api_key=key,
            base_url=settings.OPENAI_BASE_URL,
            strip_prefix="openai/",
            max_tokens_field="max_completion_tokens",
        )
    if provider_name == "gateway":
        url = settings.LLM_GATEWAY_URL
        if not url:
            raise ModelNotRoutable("the gateway provider needs LLM_GATEWAY_URL")
        return OpenAIChatProvider(
            name="gateway",
            api_key=settings.LLM_GATEWAY_API_KEY,
            base_url=url,
            strip_prefix=None,
            max_tokens_field="max_tokens",
        )
    raise ValueError(f"unknown model provider {provider_name!r}; known: {', '.join(PROVIDERS)}")
