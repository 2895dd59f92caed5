from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agentexec.tenancy.models import Organization
from runs.models import Run
from tests import factories
from tests.conftest import Member
from vaults import services
from vaults.models import Vault, VaultObject

AddDocument = Callable[..., VaultObject]


@pytest.fixture
def vault(alice: Member) -> Vault:
    return services.vault_create(organization=alice.organization, name="Matter 2025-014")


@pytest.fixture
def add_document() -> AddDocument:
    """Stores bytes as a new object in a vault and ingests it inline."""

    def add(
        vault: Vault, filename: str, data: bytes | str, content_type: str | None = None
    ) -> VaultObject:
        raw = data.encode() if isinstance(data, str) else data
        obj = services.object_create_with_content(
            vault=vault, filename=filename, content=[raw], content_type=content_type
        )
        return services.object_ingest_run(object_id=obj.id) or obj

    return add


def make_run(organization: Organization, **fields: Any) -> Run:
    agent_vault_ids = fields.pop("agent_vault_ids", [])
    fields.setdefault("prompt", "Review.")
    return factories.make_run(
        organization=organization,
        model="local/extractive",
        agent_fields={"name": "reviewer", "vault_ids": agent_vault_ids, "is_ephemeral": True},
        **fields,
    )
