"""Vault memory: file-backed entries, searched with the chunks' full-text engine, written and
searched by agents through the memory.* tools within their run's vault scope."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.storage import default_storage

from agentexec.tools import registry
from agentexec.tools.registry import ToolError
from runs.selectors import tool_context
from tests.conftest import Member
from tests.vaults.conftest import make_run
from vaults import memory, memory_tools, services
from vaults.models import MemoryEntry, Vault


def add(member: Member, vault: Vault, **body: Any) -> Any:
    return member.client.post(f"/vault/{vault.id}/memory", body, format="json")


def search(member: Member, vault: Vault, **body: Any) -> list[dict[str, Any]]:
    response = member.client.post(f"/vault/{vault.id}/memory/search", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def stored_text(entry: MemoryEntry) -> str:
    with default_storage.open(entry.file.name or "") as handle:
        return handle.read().decode()


def test_it_adds_an_entry_kept_as_a_file(alice: Member, vault: Vault) -> None:
    response = add(
        alice, vault, content="Acme is the licensor.", type="party", source="msa.pdf p. 1",
        tags=["acme", "parties"],
    )  # fmt: skip

    assert response.status_code == 201, response.content
    entry = response.json()["entry"]
    assert entry["id"].startswith("mem_") and entry["type"] == "party"
    assert entry["content"] == "Acme is the licensor." and entry["source"] == "msa.pdf p. 1"
    assert entry["tags"] == ["acme", "parties"]
    assert entry["created_by"] == f"api:{alice.api_key.prefix}"
    assert entry["created_at"] and entry["updated_at"]
    row = MemoryEntry.objects.get(id=entry["id"])
    assert row.file.name == f"vaults/{vault.id}/memory/{row.id}.md"
    assert stored_text(row) == "Acme is the licensor."


def test_it_lists_entries_with_the_vaults_memory_totals(
    alice: Member, vault: Vault, settings
) -> None:
    settings.MEMORY_MAX_CHARS = 1000
    add(alice, vault, content="Acme is the licensor.", type="party")
    add(alice, vault, content="Notice period: 90 days.", type="deadline")

    body = alice.client.get(f"/vault/{vault.id}/memory").json()

    assert [e["type"] for e in body["entries"]] == ["party", "deadline"]
    assert body["meta"]["count"] == 2 and body["meta"]["chars"] == 21 + 23
    assert body["meta"]["max_chars"] == 1000 and body["meta"]["updated_at"]


def test_it_rewrites_an_entrys_file_and_deletes_the_old_one(
    alice: Member, vault: Vault, django_capture_on_commit_callbacks
) -> None:
    entry = add(alice, vault, content="Notice: 60 days.", type="deadline").json()["entry"]
    old = MemoryEntry.objects.get(id=entry["id"]).file.name

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.patch(
            f"/vault/{vault.id}/memory/{entry['id']}",
            {"content": "Notice: 90 days.", "source": None, "tags": ["notice"]},
            format="json",
        )

    assert response.status_code == 200
    assert response.json()["entry"]["content"] == "Notice: 90 days."
    row = MemoryEntry.objects.get(id=entry["id"])
    assert row.tags == ["notice"] and row.source is None
    assert stored_text(row) == "Notice: 90 days."
    assert row.file.name == old or not default_storage.exists(old or "")
    assert [r["id"] for r in search(alice, vault, query="90 days notice")] == [entry["id"]]
    assert search(alice, vault, query="60") == []


def test_it_deletes_an_entry_and_its_file(
    alice: Member, vault: Vault, django_capture_on_commit_callbacks
) -> None:
    entry = add(alice, vault, content="Acme is the licensor.", type="party").json()["entry"]
    name = MemoryEntry.objects.get(id=entry["id"]).file.name

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.delete(f"/vault/{vault.id}/memory/{entry['id']}")

    assert response.status_code == 200 and response.json() == {"success": True, "id": entry["id"]}
    assert not MemoryEntry.objects.exists() and not default_storage.exists(name or "")
    assert search(alice, vault, query="licensor") == []


def test_search_ranks_by_content_words_and_filters_by_type_and_tags(
    alice: Member, vault: Vault
) -> None:
    licensor = add(alice, vault, content="Acme is the licensor of the patents.", type="party",
                   tags=["acme"]).json()["entry"]  # fmt: skip
    ends = add(alice, vault, content="The patent license terminates if the licensee sues.",
               type="issue", tags=["termination"]).json()["entry"]  # fmt: skip
    add(alice, vault, content="Rent is due monthly.", type="fact")

    found = search(alice, vault, query="When does the patent license end if the licensee sues?")

    assert [r["id"] for r in found][:2] == [ends["id"], licensor["id"]]
    assert found[0]["score"] > found[1]["score"] > 0
    assert [r["id"] for r in search(alice, vault, query="patents", types=["party"])] == [
        licensor["id"]
    ]
    assert [r["id"] for r in search(alice, vault, query="patent", tags=["termination"])] == [
        ends["id"]
    ]
    assert [r["id"] for r in search(alice, vault, query="acme")] == [licensor["id"]]  # a tag
    assert len(search(alice, vault, query="patent", limit=1)) == 1


def test_search_never_crosses_vaults(alice: Member, vault: Vault) -> None:
    other = services.vault_create(organization=alice.organization, name="Other matter")
    add(alice, other, content="Acme is the licensor.", type="party")

    assert search(alice, vault, query="licensor") == []


def test_a_vaults_memory_is_bounded(alice: Member, vault: Vault, settings) -> None:
    settings.MEMORY_MAX_CHARS = 30
    first = add(alice, vault, content="x" * 20, type="fact").json()["entry"]

    over = add(alice, vault, content="y" * 11, type="fact")
    rewrite = alice.client.patch(
        f"/vault/{vault.id}/memory/{first['id']}", {"content": "z" * 30}, format="json"
    )

    assert over.status_code == 400 and "MEMORY_MAX_CHARS" in over.json()["error"]["message"]
    assert "content" in over.json()["error"]["fields"]
    assert rewrite.status_code == 200  # replacing an entry frees its own characters
    assert MemoryEntry.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x", "type": "gossip"}, "type"),
        ({"content": "   ", "type": "fact"}, "content"),
        ({"type": "fact"}, "content"),
        ({"content": "x", "type": "fact", "tags": "acme"}, "tags"),
    ],
)
def test_it_refuses_bad_entries_with_400(
    alice: Member, vault: Vault, body: dict[str, Any], field: str
) -> None:
    response = add(alice, vault, **body)

    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert not MemoryEntry.objects.exists()


def test_an_entry_is_only_found_through_its_own_vault(alice: Member, vault: Vault) -> None:
    other = services.vault_create(organization=alice.organization, name="Other matter")
    entry = add(alice, other, content="Acme.", type="party").json()["entry"]

    response = alice.client.delete(f"/vault/{vault.id}/memory/{entry['id']}")

    assert response.status_code == 404 and MemoryEntry.objects.filter(id=entry["id"]).exists()


# --- The memory.* tools -------------------------------------------------------------------------

HANDLERS = {t.name: t.handler for t in memory_tools.TOOLS}


def call(run, name: str, **input: Any) -> Any:
    handler = HANDLERS[name]
    assert handler is not None
    result = handler(tool_context(run), input)
    json.dumps(result.content)
    return result


def test_the_memory_tools_are_registered() -> None:
    for name in ("memory.search", "memory.write"):
        tool = registry._REGISTRY[name]
        assert tool.location == "host" and tool.handler is not None and tool.available


def test_what_one_run_writes_a_later_run_finds(alice: Member, vault: Vault) -> None:
    first = make_run(alice.organization, vault_ids=[vault.id])
    later = make_run(alice.organization, vault_ids=[vault.id])

    written = call(first, "memory.write", content="The client prefers arbitration in London.",
                   type="preference", tags=["disputes"])  # fmt: skip
    found = call(later, "memory.search", query="where does the client want arbitration?")

    assert written.status_code == 201 and written.content["createdBy"] == f"run:{first.id}"
    assert MemoryEntry.objects.get(id=written.content["id"]).vault_id == vault.id
    assert [r["id"] for r in found.content["results"]] == [written.content["id"]]
    assert found.content["results"][0]["type"] == "preference"


def test_the_memory_tools_stay_in_the_runs_vault_scope(
    alice: Member, charlie: Member, vault: Vault
) -> None:
    other = services.vault_create(organization=alice.organization, name="Other matter")
    theirs = services.vault_create(organization=charlie.organization, name="Charlie's")
    memory.memory_entry_create(
        vault=other, content="Secret: settlement at 2M.", type="fact", created_by="api:x"
    )
    memory.memory_entry_create(
        vault=theirs, content="Charlie's settlement.", type="fact", created_by="api:y"
    )
    run = make_run(alice.organization, vault_ids=[vault.id])

    assert call(run, "memory.search", query="settlement").content["results"] == []
    for target in (other.id, theirs.id):
        with pytest.raises(ToolError, match="not in this run's scope"):
            call(run, "memory.write", content="x", vaultId=target)
        with pytest.raises(ToolError, match="not in this run's scope"):
            call(run, "memory.search", query="settlement", vaultId=target)


def test_memory_write_needs_a_vault_id_when_the_scope_has_several(
    alice: Member, vault: Vault
) -> None:
    services.vault_create(organization=alice.organization, name="Other matter")
    run = make_run(alice.organization)  # no vaultIds: every vault of the organization

    with pytest.raises(ToolError, match="give 'vaultId'"):
        call(run, "memory.write", content="A fact.")
    assert call(run, "memory.write", content="A fact.", vaultId=vault.id).content["vaultId"] == (
        vault.id
    )


def test_search_refuses_unknown_types_with_400(alice: Member, vault: Vault) -> None:
    response = alice.client.post(
        f"/vault/{vault.id}/memory/search", {"query": "x", "types": ["gossip"]}, format="json"
    )

    assert response.status_code == 400 and "types" in response.json()["error"]["fields"]


def test_deleting_the_vault_deletes_its_memory_files(
    alice: Member, vault: Vault, django_capture_on_commit_callbacks
) -> None:
    entry = add(alice, vault, content="Acme is the licensor.", type="party").json()["entry"]
    name = MemoryEntry.objects.get(id=entry["id"]).file.name or ""

    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.delete(f"/vault/{vault.id}")

    assert response.status_code == 200
    assert not MemoryEntry.objects.exists() and not default_storage.exists(name)
