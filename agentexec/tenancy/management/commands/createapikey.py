from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from agentexec.tenancy.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key (and the organization if it is new). The key is printed once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--org", required=True, help="organization name")
        parser.add_argument("--name", default="", help="a label for the key")

    def handle(self, *args: Any, **options: Any) -> None:
        key, raw = api_key_create(organization_name=options["org"], name=options["name"])
        self.stderr.write(
            f"Created API key {key.prefix}… for organization {key.organization.name!r} "
            f"({key.organization.id}). Store it now; it is not shown again."
        )
        self.stdout.write(raw)
