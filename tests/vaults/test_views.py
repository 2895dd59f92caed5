"""Vault pages of the staff UI."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from vaults.models import Chunk, ObjectText, Vault, VaultObject


@pytest.fixture
def vault(alice) -> Any:

    vault = Vault.objects.create(organization=alice.organization, name="NDAs", total_objects=2)
    done = VaultObject.objects.create(
        vault=vault, filename="nda.pdf", content_type="application/pdf", status="completed",
        size_bytes=2048, page_count=2, chunk_count=2, text_length=60,
    )  # fmt: skip
    ObjectText.objects.create(object=done, text="The term is five years.<script>x</script>")
    Chunk.objects.create(object=done, vault=vault, index=0, text="The term is five years.",
                         page_start=1, page_end=1)  # fmt: skip
    Chunk.objects.create(object=done, vault=vault, index=1, text="<b>Residuals</b> survive.",
                         page_start=2, page_end=2)  # fmt: skip
    VaultObject.objects.create(vault=vault, filename="lease.docx", content_type="application/x",
                               status="failed", error="could not extract")  # fmt: skip
    return vault


def test_vault_pages_are_staff_only(client: Client, non_staff: Client, vault: Any):
    obj = VaultObject.objects.get(vault=vault, filename="nda.pdf")
    for url in [
        "/ui/vaults/",
        f"/ui/vaults/{vault.id}/",
        f"/ui/vaults/{vault.id}/objects/{obj.id}/",
    ]:
        assert client.get(url).status_code == 302
        assert non_staff.get(url).status_code == 403


def test_it_lists_vaults_of_every_organization(staff: Client, vault: Any, charlie):

    other = Vault.objects.create(organization=charlie.organization, name="Leases")
    html = staff.get("/ui/vaults/").content.decode()
    assert "NDAs" in html and "Leases" in html
    only = staff.get(f"/ui/vaults/?organization={charlie.organization.id}")
    assert [v.id for v in only.context["page"].object_list] == [other.id]


def test_a_vault_lists_its_objects_with_ingest_status(staff: Client, vault: Any):
    html = staff.get(f"/ui/vaults/{vault.id}/").content.decode()
    assert "nda.pdf" in html and 'class="badge ingest-completed"' in html
    assert "lease.docx" in html and 'class="badge ingest-failed"' in html
    assert "could not extract" in html


def test_an_object_shows_its_text_and_chunks_escaped(staff: Client, vault: Any):
    obj = VaultObject.objects.get(vault=vault, filename="nda.pdf")
    html = staff.get(f"/ui/vaults/{vault.id}/objects/{obj.id}/").content.decode()
    assert "The term is five years.&lt;script&gt;" in html
    assert "&lt;b&gt;Residuals&lt;/b&gt;" in html and "<b>Residuals" not in html
    assert "page 2" in html


def test_an_object_without_text_says_so(staff: Client, vault: Any):
    obj = VaultObject.objects.get(vault=vault, filename="lease.docx")
    html = staff.get(f"/ui/vaults/{vault.id}/objects/{obj.id}/").content.decode()
    assert "No extracted text" in html


def test_unknown_vaults_and_objects_are_404(staff: Client, vault: Any):
    assert staff.get("/ui/vaults/vault_nope/").status_code == 404
    assert staff.get(f"/ui/vaults/{vault.id}/objects/obj_nope/").status_code == 404
