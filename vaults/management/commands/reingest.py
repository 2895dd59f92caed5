"""Extract, chunk and index stored objects again, through the same bounded path as ingest: after
an upgrade of extraction or chunking (clean Markdown text, section paths and offsets), existing
objects get what new uploads get.

    python manage.py reingest --object obj_...      # one object
    python manage.py reingest --vault vault_...     # every object of a vault
    python manage.py reingest --all                 # every object

Objects without uploaded content, and objects an ingest is working on right now, are skipped.
Each object ends completed, stored or failed, as after an upload; a failure is the object's own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q, QuerySet
from django.utils import timezone

from vaults import services
from vaults.models import ObjectStatus, VaultObject


class Command(BaseCommand):
    help = "Extract, chunk and index stored vault objects again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--object", action="append", default=[], help="an object id")
        parser.add_argument("--vault", action="append", default=[], help="a vault id")
        parser.add_argument("--all", action="store_true", help="every object of every vault")

    def handle(self, *args: Any, **options: Any) -> None:
        objects = self._selected(options)
        done = failed = skipped = 0
        for object_id in objects.values_list("id", flat=True).iterator():
            obj = services.object_ingest_run(object_id=object_id)
            if obj is None:
                skipped += 1
                continue
            failed += obj.status == ObjectStatus.FAILED
            done += obj.status != ObjectStatus.FAILED
            detail = f": {obj.error}" if obj.error else f", {obj.chunk_count or 0} chunks"
            self.stdout.write(f"{obj.id} {obj.filename}: {obj.status}{detail}")
        self.stdout.write(f"reingested {done}, failed {failed}, skipped {skipped}")

    def _selected(self, options: dict[str, Any]) -> QuerySet[VaultObject]:
        if not (options["object"] or options["vault"] or options["all"]):
            raise CommandError("say which objects: --object ID, --vault ID or --all")
        objects = VaultObject.objects.exclude(file="").order_by("created_at", "id")
        if not options["all"]:
            objects = objects.filter(Q(id__in=options["object"]) | Q(vault_id__in=options["vault"]))
            known = set(objects.values_list("id", flat=True)) | set(
                objects.values_list("vault_id", flat=True)
            )
            unknown = [i for i in [*options["object"], *options["vault"]] if i not in known]
            if unknown:
                raise CommandError(f"no such object or vault with content: {', '.join(unknown)}")
        stale = timezone.now() - timedelta(seconds=settings.VAULT_INGEST_STALE_S)
        # An ingest at work owns its object until it ends or goes stale.
        return objects.exclude(status=ObjectStatus.PROCESSING, ingestion_started_at__gte=stale)
