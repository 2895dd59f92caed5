"""Builds the runtime zipapp (agentexec.linc and the casedev CLI) and prints where it is."""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.management.base import BaseCommand

from sandboxes.artefact import runtime_zipapp


class Command(BaseCommand):
    help = "Build the uploadable runtime (a zipapp of agentexec.linc and the casedev CLI)."

    def handle(self, *args: Any, **options: Any) -> None:
        path = runtime_zipapp()
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        self.stdout.write(f"{path}\n{len(data)} bytes, sha256 {digest}")
