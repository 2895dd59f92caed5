from __future__ import annotations

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from vaults import services
from vaults.models import Vault
from vaults.selectors import run_scope_errors


def test_known_ids_of_the_organization_pass(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    obj = add_document(vault, "a.txt", "x")
    org = alice.organization.id
    assert run_scope_errors(organization_id=org, vault_ids=[vault.id], object_ids=[obj.id]) == {}
    assert run_scope_errors(organization_id=org, vault_ids=None, object_ids=[obj.id]) == {}
    assert run_scope_errors(organization_id=org, vault_ids=[], object_ids=None) == {}


def test_unknown_and_foreign_ids_are_named(
    alice: Member, charlie: Member, vault: Vault, add_document: AddDocument
) -> None:
    theirs = services.vault_create(organization=charlie.organization, name="Charlie's")
    foreign = add_document(theirs, "c.txt", "x")

    errors = run_scope_errors(
        organization_id=alice.organization.id,
        vault_ids=[vault.id, theirs.id, "vault_nope"],
        object_ids=[foreign.id],
    )

    assert errors["vaultIds"] == [f"Unknown vault id(s): {theirs.id}, vault_nope."]
    assert errors["objectIds"] == [f"Unknown object id(s): {foreign.id}."]


def test_objects_must_be_inside_the_given_vaults(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    other = services.vault_create(organization=alice.organization, name="Other")
    obj = add_document(other, "a.txt", "x")

    errors = run_scope_errors(
        organization_id=alice.organization.id, vault_ids=[vault.id], object_ids=[obj.id]
    )

    assert errors == {"objectIds": [f"Object id(s) not in any of the given vaultIds: {obj.id}."]}
