"""Which sandbox provider runs which runs, and whether the chosen ones are configured.

SANDBOX_PROVIDER runs synchronous executes; LEGACY_SANDBOX_PROVIDER runs `agentRuntime: true`
executes and queued runs (its default: daytona when DAYTONA_API_KEY is set, else the same as
SANDBOX_PROVIDER). A remote provider chosen without its credentials fails the system checks at
startup and /readyz, naming the missing variable. Nothing here imports a provider's SDK.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from agentexec.llm.catalog import public_url
from sandboxes.factory import AUTO, resolve

LOCAL = ("bwrap", "process")
REMOTE = ("vercel", "daytona")
NAMES = (AUTO, *LOCAL, *REMOTE)


def sync_provider_name() -> str:
    return settings.SANDBOX_PROVIDER


def legacy_provider_name() -> str:
    return settings.LEGACY_SANDBOX_PROVIDER


def _credentials(name: str) -> dict[str, str]:
    """A remote provider's required variables and their values (never shown)."""
    if name == "vercel":
        return {
            "VERCEL_TOKEN": settings.VERCEL_TOKEN,
            "VERCEL_TEAM_ID": settings.VERCEL_TEAM_ID,
            "VERCEL_PROJECT_ID": settings.VERCEL_PROJECT_ID,
        }
    if name == "daytona":
        return {"DAYTONA_API_KEY": settings.DAYTONA_API_KEY}
    return {}


def _api_url(name: str) -> str | None:
    if name == "vercel":
        return settings.VERCEL_SANDBOX_API_URL or "https://vercel.com/api"
    if name == "daytona":
        return settings.DAYTONA_API_URL or "https://app.daytona.io/api"
    return None


def missing_settings(name: str) -> list[str]:
    """The variables a provider needs that are not set (none for the local ones)."""
    return [key for key, value in _credentials(name).items() if not value]


def problems() -> list[str]:
    """What is wrong with the chosen providers (unknown, or not configured); [] when fine."""
    found = []
    for variable, name in (
        ("SANDBOX_PROVIDER", sync_provider_name()),
        ("LEGACY_SANDBOX_PROVIDER", legacy_provider_name()),
    ):
        if name not in NAMES:
            found.append(
                f"{variable}={name!r} is not a sandbox provider (expected {', '.join(NAMES)})"
            )
        elif missing := missing_settings(name):
            verb = "is" if len(missing) == 1 else "are"
            found.append(f"{variable}={name} but {', '.join(missing)} {verb} not set")
    return found


def check_providers(**kwargs: Any) -> list[checks.CheckMessage]:
    """System check: the chosen providers exist and have their credentials."""
    return [
        checks.Error(
            problem,
            hint="Set the variable, or choose another provider (see README, Sandbox providers).",
            id="sandboxes.E010",
        )
        for problem in problems()
    ]


def describe() -> dict[str, Any]:
    """GET /agent/v1/sandbox-providers: what runs where and what is configured (no secrets)."""
    chosen = {"sync": sync_provider_name(), "legacy": legacy_provider_name()}
    backends = {kind: resolved(name) for kind, name in chosen.items()}
    providers = []
    for name in (*LOCAL, *REMOTE):
        providers.append(
            {
                "name": name,
                "location": "remote" if name in REMOTE else "local",
                "configured": not missing_settings(name),
                "missing": missing_settings(name),
                "apiUrl": public_url(url) if (url := _api_url(name)) else None,
                "selectedFor": [kind for kind, value in backends.items() if value == name],
            }
        )
    return {"sync": backends["sync"], "legacy": backends["legacy"], "providers": providers}


def resolved(name: str) -> str | None:
    """The backend a provider name stands for here ("auto" resolved for the sandbox user);
    None for a name no backend answers to."""
    if name in REMOTE:
        return name
    try:
        return resolve(name, uid=settings.SANDBOX_UID, gid=settings.SANDBOX_GID)
    except ValueError:
        return None
