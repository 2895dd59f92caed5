from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agentexec.tenancy.models import Organization
from agentexec.tenancy.services import webhook_secret_rotate


class Command(BaseCommand):
    help = "Show (or rotate) an organization's callback signing secret (Standard Webhooks)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization name")
        parser.add_argument("--rotate", action="store_true", help="replace the secret")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(name=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization named {options['org']!r}.")
        if options["rotate"]:
            webhook_secret_rotate(organization=organization)
            self.stderr.write("Rotated: callbacks are signed with the new secret from now on.")
        self.stdout.write(organization.webhook_secret)
