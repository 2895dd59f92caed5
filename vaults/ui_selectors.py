"""Reads for the vault pages of the staff UI: staff see every organization, so nothing here is
scoped to one."""

from __future__ import annotations

from django.db.models import QuerySet

from vaults.models import Chunk, ObjectText, SummaryJob, Vault, VaultObject


def vaults_filtered(*, organization_id: str = "") -> QuerySet[Vault]:
    """Every vault (or one organization's), newest first."""
    vaults = Vault.objects.select_related("organization").order_by("-created_at", "-id")
    if organization_id:
        vaults = vaults.filter(organization_id=organization_id)
    return vaults


def vault_for_review(*, vault_id: str) -> Vault | None:
    return Vault.objects.select_related("organization").filter(id=vault_id).first()


def vault_objects(*, vault: Vault) -> QuerySet[VaultObject]:
    # Not vault.objects: on a Vault instance that name is the model's manager, not the relation.
    return VaultObject.objects.filter(vault=vault).order_by("-created_at", "-id")


def object_for_review(*, vault_id: str, object_id: str) -> VaultObject | None:
    return (
        VaultObject.objects.select_related("vault__organization")
        .filter(id=object_id, vault_id=vault_id)
        .first()
    )


def object_text(*, obj: VaultObject) -> str | None:
    """The object's extracted text, whatever its status; None when there is none."""
    extracted = ObjectText.objects.filter(object=obj).first()
    return extracted.text if extracted else None


def object_chunks(*, obj: VaultObject) -> QuerySet[Chunk]:
    return obj.chunks.order_by("index")


def object_summary_jobs(*, obj: VaultObject) -> QuerySet[SummaryJob]:
    """The object's summaries, newest first, with the objects they produced."""
    return SummaryJob.objects.filter(source_object=obj).select_related("result_object")
