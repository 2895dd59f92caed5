from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agentexec.errors import NotFoundError
from agentexec.tenancy.services import api_key_revoke


class Command(BaseCommand):
    help = "Revoke an API key by its display prefix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = api_key_revoke(prefix=options["prefix"])
        except NotFoundError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Revoked {key.prefix}… ({key.organization.name}) at {key.revoked_at}.")
