from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.core.management import call_command
from django.db.models.signals import post_migrate


class AgentexecConfig(AppConfig):
    """The project package as an app: its system checks and the rate-limit cache table."""

    name = "agentexec"
    verbose_name = "agentexec"

    def ready(self) -> None:
        checks.register(check_body_limit)
        post_migrate.connect(create_cache_table, sender=self)


def create_cache_table(using: str = "default", **kwargs: Any) -> None:
    """migrate creates the database cache's table (if CACHES uses one), so a fresh install's
    rate limits work at once; it leaves an existing table alone."""
    call_command("createcachetable", database=using, verbosity=0)


def check_body_limit(**kwargs: Any) -> list[checks.CheckMessage]:
    # A prompt as JSON: at most 6 bytes a character (\uXXXX), plus the rest of the body.
    needed = 6 * settings.MAX_PROMPT_CHARS + 64 * 1024
    if needed > settings.MAX_JSON_BODY_BYTES:
        return [
            checks.Error(
                f"MAX_JSON_BODY_BYTES ({settings.MAX_JSON_BODY_BYTES}) is too small for "
                f"MAX_PROMPT_CHARS ({settings.MAX_PROMPT_CHARS}): a prompt that long could be "
                "refused as too large.",
                hint=f"Set MAX_JSON_BODY_BYTES to at least {needed}.",
                id="agentexec.E001",
            )
        ]
    return []
