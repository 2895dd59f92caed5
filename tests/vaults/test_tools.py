"""The vault tools, called the way the executor calls them: scope is enforced on the host for
every call, and anything outside it is a ToolError, never data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentexec.tools import registry
from agentexec.tools.registry import ToolContext, ToolError, ToolResult
from runs.models import Run
from runs.selectors import tool_context
from tests.conftest import Member
from tests.vaults.conftest import AddDocument, make_run
from tests.vaults.documents import make_pdf
from vaults import services, tools
from vaults.models import ObjectStatus, Vault, VaultObject

HANDLERS = {t.name: t.handler for t in tools.TOOLS}


def call(run: Run, name: str, **input: Any) -> ToolResult:
    handler = HANDLERS[name]
    assert handler is not None
    result = handler(tool_context(run), input)
    json.dumps(result.content)  # always JSON-serialisable
    return result


@pytest.fixture
def setup(
    alice: Member, charlie: Member, vault: Vault, add_document: AddDocument
) -> dict[str, Any]:
    allowed = add_document(vault, "nda.txt", "The indemnity clause protects the discloser.")
    other = add_document(vault, "secret.txt", "The indemnity in the secret side letter.")
    theirs = services.vault_create(organization=charlie.organization, name="Charlie's")
    foreign = add_document(theirs, "charlie.txt", "Charlie's indemnity terms.")
    run = make_run(alice.organization, vault_ids=[vault.id], object_ids=[allowed.id])
    return {"run": run, "allowed": allowed, "other": other, "theirs": theirs, "foreign": foreign}


def test_the_vault_tools_are_registered() -> None:
    for name in ("vault.search", "vault.list", "vault.read", "vault.write"):
        tool = registry._REGISTRY[name]
        assert tool.location == "host" and tool.handler is not None and tool.available


def test_search_returns_compact_cited_results(setup: dict[str, Any]) -> None:
    result = call(setup["run"], "vault.search", query="indemnity")

    assert (result.service, result.endpoint, result.method, result.status_code) == (
        "vault",
        "/vault/{id}/search",
        "POST",
        200,
    )
    [hit] = result.content["results"]
    assert set(hit) == {
        "objectId",
        "filename",
        "chunkIndex",
        "section",
        "pageStart",
        "pageEnd",
        "cite",
        "text",
        "score",
    }
    assert hit["objectId"] == setup["allowed"].id and hit["filename"] == "nda.txt"
    assert hit["cite"] == "nda.txt"  # how the answer names the passage: no pages in a .txt


def test_search_and_read_give_the_section_and_page_to_cite(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    pdf = add_document(
        vault,
        "nda.pdf",
        make_pdf(["1. Definitions\nWords mean things.", "9. Indemnity\nBluejay shall indemnify."]),
    )
    run = make_run(alice.organization, vault_ids=[vault.id])

    [hit] = call(run, "vault.search", query="who indemnifies?").content["results"]
    page_two = call(run, "vault.read", objectId=pdf.id, pageStart=2).content
    start = call(run, "vault.read", objectId=pdf.id).content

    assert (hit["section"], hit["pageStart"], hit["pageEnd"]) == ("9. Indemnity", 2, 2)
    assert (page_two["section"], page_two["page"]) == ("9. Indemnity", 2)
    assert (start["section"], start["page"]) == ("1. Definitions", 1)


def test_a_run_limited_to_one_object_cannot_reach_another(setup: dict[str, Any]) -> None:
    run, other, foreign = setup["run"], setup["other"], setup["foreign"]

    hits = call(run, "vault.search", query="secret side letter indemnity", topK=20).content[
        "results"
    ]
    assert {h["objectId"] for h in hits} == {setup["allowed"].id}
    with pytest.raises(ToolError, match="not in this run's scope"):
        call(run, "vault.search", query="indemnity", objectIds=[other.id])
    with pytest.raises(ToolError, match="not in this run's scope"):
        call(run, "vault.read", objectId=other.id)
    listed = call(run, "vault.list").content["vaults"]
    assert [o["id"] for v in listed for o in v["objects"]] == [setup["allowed"].id]
    assert (
        call(run, "vault.read", objectId=setup["allowed"].id)
        .content["text"]
        .startswith("The indemnity")
    )
    assert foreign.id not in json.dumps(listed)


@pytest.mark.parametrize(
    ("name", "input"),
    [
        ("vault.search", {"query": "indemnity", "vaultIds": ["{theirs}"]}),
        ("vault.search", {"query": "indemnity", "objectIds": ["{foreign}"]}),
        ("vault.list", {"vaultId": "{theirs}"}),
        ("vault.read", {"objectId": "{foreign}"}),
        ("vault.write", {"vaultId": "{theirs}", "filename": "x.md", "content": "pwned"}),
        ("vault.read", {"objectId": "obj_doesnotexist000"}),
    ],
)
def test_another_organizations_vault_is_out_of_reach_through_every_tool(
    setup: dict[str, Any], name: str, input: dict[str, Any]
) -> None:
    ids = {"theirs": setup["theirs"].id, "foreign": setup["foreign"].id}
    filled = json.loads(
        json.dumps(input).replace("{theirs}", ids["theirs"]).replace("{foreign}", ids["foreign"])
    )
    unlimited = make_run(setup["run"].organization)  # every vault of alice's organization

    for run in (setup["run"], unlimited):
        with pytest.raises(ToolError, match="not in this run's scope"):
            call(run, name, **filled)
    assert VaultObject.objects.filter(vault=setup["theirs"]).count() == 1


def test_a_run_without_vault_ids_sees_every_vault_of_its_organization(
    alice: Member, setup: dict[str, Any]
) -> None:
    run = make_run(alice.organization)
    hits = call(run, "vault.search", query="indemnity", topK=20).content["results"]
    assert {h["objectId"] for h in hits} == {setup["allowed"].id, setup["other"].id}
    assert [v["id"] for v in call(run, "vault.list").content["vaults"]] == [
        setup["allowed"].vault_id
    ]


def test_the_agents_own_vault_ids_narrow_the_scope(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    second = services.vault_create(organization=alice.organization, name="Second")
    add_document(vault, "a.txt", "indemnity A")
    b = add_document(second, "b.txt", "indemnity B")

    run = make_run(alice.organization, agent_vault_ids=[second.id])
    assert [
        h["objectId"] for h in call(run, "vault.search", query="indemnity").content["results"]
    ] == [b.id]

    disjoint = make_run(alice.organization, vault_ids=[vault.id], agent_vault_ids=[second.id])
    assert call(disjoint, "vault.search", query="indemnity").content["results"] == []
    with pytest.raises(ToolError):
        call(disjoint, "vault.read", objectId=b.id)


def test_the_executor_gives_tools_the_runs_ids_and_scope_not_the_run(
    alice: Member, vault: Vault
) -> None:
    run = make_run(
        alice.organization, vault_ids=[vault.id], object_ids=["obj_1"], agent_vault_ids=["v_2"]
    )

    assert tool_context(run) == ToolContext(
        organization_id=alice.organization.id,
        run_id=run.id,
        vault_ids=(vault.id,),
        agent_vault_ids=("v_2",),
        object_ids=("obj_1",),
    )


def test_read_serves_pages_and_windows(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    pdf = add_document(
        vault, "nda.pdf", make_pdf(["Page one text.", "Page two text.", "Page three text."])
    )
    run = make_run(alice.organization, vault_ids=[vault.id])

    page_two = call(run, "vault.read", objectId=pdf.id, pageStart=2, pageEnd=2).content
    assert page_two["pageCount"] == 3 and page_two["text"] == "[page 2]\nPage two text."
    assert page_two["cite"] == "nda.pdf, p. 2"
    window = call(run, "vault.read", objectId=pdf.id, offset=5, limit=3).content
    assert window["text"] == "one" and window["nextOffset"] == 8
    assert call(run, "vault.read", objectId=pdf.id).content["nextOffset"] is None


def test_write_saves_an_ingested_object_and_reports_it_created(alice: Member, vault: Vault) -> None:
    run = make_run(alice.organization, vault_ids=[vault.id])

    result = call(
        run,
        "vault.write",
        vaultId=vault.id,
        filename="notes/review.md",
        content="# Review\n\nIndemnity is one-sided.",
    )

    obj = VaultObject.objects.get(id=result.content["objectId"])
    assert result.metadata["createdObjectIds"] == [obj.id] and result.status_code == 201
    assert obj.filename == "review.md" and obj.status == ObjectStatus.COMPLETED
    hits = call(run, "vault.search", query="one-sided indemnity").content["results"]
    assert [h["objectId"] for h in hits] == [obj.id]


def test_an_object_limited_run_can_read_what_it_wrote(setup: dict[str, Any]) -> None:
    run = setup["run"]
    written = call(
        run,
        "vault.write",
        vaultId=setup["allowed"].vault_id,
        filename="memo.md",
        content="Memo text.",
    )
    assert (
        call(run, "vault.read", objectId=written.content["objectId"]).content["text"]
        == "Memo text."
    )


@pytest.mark.parametrize(
    ("name", "input"),
    [
        ("vault.search", {}),
        ("vault.search", {"query": "   "}),
        ("vault.search", {"query": "x", "topK": 0}),
        ("vault.search", {"query": "x", "topK": "5"}),
        ("vault.search", {"query": "x", "vaultIds": "not-a-list-of-ids", "objectIds": [1]}),
        ("vault.read", {}),
        ("vault.read", {"objectId": "{allowed}", "limit": 10**9}),
        ("vault.write", {"vaultId": "{vault}", "filename": "a.md"}),
        ("vault.write", {"vaultId": "{vault}", "filename": "", "content": "x"}),
    ],
)
def test_bad_input_is_a_tool_error(setup: dict[str, Any], name: str, input: dict[str, Any]) -> None:
    text = json.dumps(input).replace("{allowed}", setup["allowed"].id)
    text = text.replace("{vault}", setup["allowed"].vault_id)
    with pytest.raises(ToolError):
        call(setup["run"], name, **json.loads(text))


def test_reading_an_object_that_failed_ingest_is_a_tool_error(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    broken = add_document(vault, "broken.pdf", b"%PDF nope", "application/pdf")
    with pytest.raises(ToolError, match="status failed"):
        call(make_run(alice.organization), "vault.read", objectId=broken.id)
