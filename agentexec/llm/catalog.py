"""What GET /agent/v1/models shows: which providers are configured and which model ids route
where (ids, base URLs and routing only, never a key)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from agentexec.llm import pricing, router
from agentexec.llm.base import ModelNotRoutable
from agentexec.llm.local import LOCAL_MODELS


def public_url(url: str) -> str:
    """A base URL fit to show: no user:password@, query or fragment."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def describe() -> dict[str, Any]:
    """Which providers are configured and which model ids route where (never keys)."""
    anthropic = bool(settings.ANTHROPIC_API_KEY)
    openai = bool(settings.OPENAI_API_KEY)
    gateway = bool(settings.LLM_GATEWAY_URL)
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
            "baseUrl": public_url(settings.ANTHROPIC_BASE_URL),
            "routes": ["anthropic/*"] if anthropic else [],
            "enabledBy": "ANTHROPIC_API_KEY",
        },
        {
            "name": "openai",
            "configured": openai,
            "baseUrl": public_url(settings.OPENAI_BASE_URL),
            "routes": ["openai/*"] if openai else [],
            "enabledBy": "OPENAI_API_KEY",
        },
        {
            "name": "gateway",
            "configured": gateway,
            "baseUrl": public_url(settings.LLM_GATEWAY_URL) if gateway else None,
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
