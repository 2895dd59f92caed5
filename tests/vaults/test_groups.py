"""Vault groups (/vault/groups): CRUD through the SDK, groupId on vaults, ownership, and the
scope of runs whose agent names vaultGroups."""

from __future__ import annotations

import casedev
import pytest

from runs.models import Agent
from runs.selectors import tool_context
from tests.conftest import Member
from tests.vaults.conftest import make_run
from vaults import selectors, services
from vaults.models import Vault, VaultGroup


def sdk(member: Member, live_server) -> casedev.Casedev:
    return casedev.Casedev(api_key=member.raw_key, base_url=live_server.url, max_retries=0)


def _json(client: casedev.Casedev, method: str, path: str, body: dict | None = None) -> dict:
    """The SDK's group methods answer None (0.71.0 declares no body): read the JSON raw."""
    options = {"body": body} if body is not None else {}
    return getattr(client, method)(path, cast_to=object, **options)  # type: ignore[no-any-return]


@pytest.mark.e2e
def test_the_sdk_creates_lists_updates_and_deletes_groups(alice: Member, live_server) -> None:
    with sdk(alice, live_server) as client:
        client.vault.groups.create(name="Litigation", description="Court matters")
        group = VaultGroup.objects.get(organization=alice.organization)
        assert (group.name, group.description) == ("Litigation", "Court matters")

        vault = client.vault.create(name="Acme v. Beta", group_id=group.id)
        assert client.vault.retrieve(vault.id or "").to_dict()["groupId"] == group.id
        listed = _json(client, "get", "/vault/groups")
        assert listed["total"] == 1 and listed["groups"][0]["vaultCount"] == 1

        client.vault.groups.update(group.id, name="Disputes", description=None)
        group.refresh_from_db()
        assert (group.name, group.description) == ("Disputes", None)

        with pytest.raises(casedev.ConflictError):
            client.vault.groups.delete(group.id)  # it still holds a vault
        client.vault.update(vault.id or "", group_id=None)
        assert Vault.objects.get(id=vault.id).group_id is None
        client.vault.groups.delete(group.id)
    assert not VaultGroup.objects.filter(id=group.id).exists()
    assert Vault.objects.filter(id=vault.id).exists()


def test_groups_answer_their_json_bodies(alice: Member) -> None:
    created = alice.client.post("/vault/groups", {"name": "Deals"}, format="json")
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "Deals" and body["description"] is None and body["vaultCount"] == 0
    assert body["id"].startswith("vgroup_")

    patched = alice.client.patch(f"/vault/groups/{body['id']}", {"name": "M&A"}, format="json")
    assert patched.status_code == 200 and patched.json()["name"] == "M&A"

    deleted = alice.client.delete(f"/vault/groups/{body['id']}")
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "deletedGroup": {"id": body["id"], "name": "M&A"}}
    assert not VaultGroup.objects.exists()


def test_a_vault_takes_only_a_group_of_its_own_organization(
    alice: Member, charlie: Member, vault: Vault
) -> None:
    theirs = services.group_create(organization=charlie.organization, name="Theirs")

    created = alice.client.post("/vault", {"name": "X", "groupId": theirs.id}, format="json")
    moved = alice.client.patch(f"/vault/{vault.id}", {"groupId": "vgroup_nope"}, format="json")

    assert created.status_code == 400 and "groupId" in created.json()["error"]["fields"]
    assert moved.status_code == 400 and "groupId" in moved.json()["error"]["fields"]
    assert Vault.objects.filter(organization=alice.organization).count() == 1
    assert Vault.objects.get(id=vault.id).group_id is None


def test_a_vault_shows_its_group(alice: Member, vault: Vault) -> None:
    group = services.group_create(organization=alice.organization, name="Employment")

    response = alice.client.patch(f"/vault/{vault.id}", {"groupId": group.id}, format="json")

    assert response.status_code == 200 and response.json()["groupId"] == group.id
    assert alice.client.get(f"/vault/{vault.id}").json()["groupId"] == group.id
    assert Vault.objects.get(id=vault.id).group_id == group.id


@pytest.mark.parametrize(("method", "body"), [("patch", {"name": "mine now"}), ("delete", None)])
def test_it_checks_group_ownership(
    alice: Member, charlie: Member, method: str, body: dict | None
) -> None:
    group = services.group_create(organization=alice.organization, name="Private")

    response = getattr(charlie.client, method)(f"/vault/groups/{group.id}", body, format="json")

    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
    assert VaultGroup.objects.get(id=group.id).name == "Private"
    assert charlie.client.get("/vault/groups").json() == {"groups": [], "total": 0}


def test_a_run_of_an_agent_with_vault_groups_sees_the_vaults_of_those_groups(
    alice: Member, vault: Vault
) -> None:
    group = services.group_create(organization=alice.organization, name="Leases")
    in_group = services.vault_create(organization=alice.organization, name="Lease", group=group)
    run = make_run(alice.organization)
    Agent.objects.filter(id=run.agent_id).update(vault_groups=[group.id])
    run.refresh_from_db()

    scope = selectors.tool_scope(tool_context(run))

    assert scope.vault_ids == frozenset({in_group.id})
    assert not scope.allows_vault(vault.id)


def test_a_persistent_agents_run_sees_its_vault_ids_and_its_groups(
    alice: Member, vault: Vault
) -> None:
    group = services.group_create(organization=alice.organization, name="Leases")
    in_group = services.vault_create(organization=alice.organization, name="Lease", group=group)
    services.vault_create(organization=alice.organization, name="Elsewhere")
    run = make_run(alice.organization, vault_ids=[vault.id], agent_vault_ids=[vault.id])
    Agent.objects.filter(id=run.agent_id).update(vault_groups=[group.id])
    run.refresh_from_db()

    assert selectors.tool_scope(tool_context(run)).vault_ids == frozenset({vault.id, in_group.id})


def test_an_agent_scoped_to_an_empty_group_sees_no_vault(alice: Member, vault: Vault) -> None:
    group = services.group_create(organization=alice.organization, name="Empty")
    run = make_run(alice.organization)
    Agent.objects.filter(id=run.agent_id).update(vault_groups=[group.id])
    run.refresh_from_db()

    assert selectors.tool_scope(tool_context(run)).vault_ids == frozenset()


def test_an_agent_takes_only_known_vault_groups(alice: Member, charlie: Member) -> None:
    theirs = services.group_create(organization=charlie.organization, name="Theirs")
    body = {"name": "Reviewer", "instructions": "Review.", "vaultGroups": [theirs.id]}

    response = alice.client.post("/agent/v1/agents", body, format="json")

    assert response.status_code == 400
    assert theirs.id in response.json()["error"]["fields"]["vaultGroups"][0]
    assert not Agent.objects.filter(organization=alice.organization).exists()
