"""The casedev CLI end to end: a local/scripted run in a real bwrap sandbox whose shell.exec
commands call `casedev`; the runtime relays each call to the host as the matching tool call."""

import json

import pytest
import respx

from runs.models import RunStep, UsageEntry
from tests.vaults.conftest import add_document, vault  # noqa: F401 (fixtures)
from vaults import services as vault_services
from vaults.models import VaultObject

EXECUTE = "/agent/v1/execute"
API = "https://www.courtlistener.com/api/rest/v4"
pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def bwrap_only(settings):
    from sandboxes import services

    if services.provider().name != "bwrap":
        pytest.skip("needs the bwrap provider (namespaces and a read-only root)")


@pytest.fixture
def docs(alice, charlie, vault, add_document):  # noqa: F811
    nda = add_document(vault, "nda.txt", "The indemnity clause protects the discloser.")
    side = add_document(vault, "side-letter.txt", "A secret side letter about fees.")
    theirs = vault_services.vault_create(organization=charlie.organization, name="Charlie's")
    foreign = add_document(theirs, "charlie.txt", "Charlie's indemnity terms.")
    return {"vault": vault, "nda": nda, "side": side, "foreign": foreign}


def run_commands(member, *commands, **body):
    """Executes a run whose script runs each command with shell.exec; returns (response, the
    shell results in order)."""
    steps = [{"tool": "shell.exec", "input": {"command": c}} for c in commands]
    prompt = json.dumps({"steps": steps, "final": "ran"})
    response = member.client.post(
        EXECUTE, {"prompt": prompt, "model": "local/scripted", **body}, format="json"
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["status"] == "completed", data
    results = RunStep.objects.filter(
        run_id=data["runId"], type="tool_result", tool_name="shell.exec"
    ).order_by("sequence")
    return data, [r.tool_output for r in results]


def cli_steps(run_id):
    return list(RunStep.objects.filter(run_id=run_id, source="cli").order_by("sequence"))


def test_every_vault_subcommand_works_and_is_recorded_as_a_cli_step(alice, docs):
    matter, nda = docs["vault"], docs["nda"]
    data, (listed, searched, read, written) = run_commands(
        alice,
        "casedev vault list",
        "casedev vault search 'who does the indemnity protect' --top-k 3 --json",
        f"casedev vault read {nda.id} --page-start 1 --page-end 1",
        f"printf '# Memo\\nThe indemnity is one-sided.\\n' | casedev vault write {matter.id} memo.md",
        vaultIds=[matter.id],
    )
    assert listed["exitCode"] == 0, listed
    assert f"{matter.id}  Matter 2025-014  (2 documents)" in listed["stdout"]
    assert f"{nda.id}  nda.txt  completed" in listed["stdout"]

    assert searched["exitCode"] == 0, searched
    hits = json.loads(searched["stdout"])["results"]
    assert hits[0]["objectId"] == nda.id and "indemnity" in hits[0]["text"]

    assert read["exitCode"] == 0, read
    assert "The indemnity clause protects the discloser." in read["stdout"]

    assert written["exitCode"] == 0, written
    memo = VaultObject.objects.get(vault=matter, filename="memo.md")
    assert written["stdout"].startswith(f"created {memo.id} in {matter.id}: memo.md")
    assert memo.metadata["createdByRunId"] == data["runId"]

    steps = cli_steps(data["runId"])
    assert [(s.type, s.tool_name) for s in steps] == [
        (kind, name)
        for name in ("vault.list", "vault.search", "vault.read", "vault.write")
        for kind in ("tool_call", "tool_result")
    ]
    assert not any(s.is_error for s in steps)
    assert steps[2].tool_input == {"query": "who does the indemnity protect", "topK": 3}
    assert steps[4].tool_input == {"objectId": nda.id, "pageStart": 1, "pageEnd": 1}
    # The agent's own shell.exec calls stay the agent's; the CLI's calls sit inside them.
    shell = RunStep.objects.filter(run_id=data["runId"], tool_name="shell.exec")
    assert set(shell.values_list("source", flat=True)) == {"agent"}
    usage = UsageEntry.objects.filter(run_id=data["runId"], kind="api").order_by("created_at")
    assert [(u.metadata["tool"], u.metadata["source"]) for u in usage] == [
        ("vault.list", "cli"),
        ("vault.search", "cli"),
        ("vault.read", "cli"),
        ("vault.write", "cli"),
    ]
    assert data["usage"]["toolCalls"] == 8  # four shell.exec calls and four CLI calls

    details = alice.client.get(f"/agent/v1/run/{data['runId']}/details").json()
    sources = {(s["toolName"], s["source"]) for s in details["steps"] if s["toolName"]}
    assert ("vault.read", "cli") in sources and ("shell.exec", "agent") in sources


def test_the_memory_subcommands_write_and_find_a_note_as_cli_steps(alice, docs):
    matter = docs["vault"]
    data, (written, found) = run_commands(
        alice,
        f"printf 'Bluejay signed the NDA on 3 March.' | casedev memory write --vault {matter.id}"
        " --type fact --tag nda",
        "casedev memory search 'when did Bluejay sign' --json",
        vaultIds=[matter.id],
    )
    assert written["exitCode"] == 0, written
    assert (
        written["stdout"].startswith("remembered ")
        and f"in {matter.id} (fact)" in written["stdout"]
    )
    assert found["exitCode"] == 0, found
    results = json.loads(found["stdout"])["results"]
    assert results[0]["content"] == "Bluejay signed the NDA on 3 March."
    assert [s.tool_name for s in cli_steps(data["runId"]) if s.type == "tool_call"] == [
        "memory.write",
        "memory.search",
    ]


def test_the_legal_subcommands_call_the_legal_research_tools(alice, settings):
    settings.COURTLISTENER_API_TOKEN = "cl-test-token"
    opinion = {
        "caseName": "Brown v. Board of Education",
        "court": "Supreme Court of the United States",
        "court_id": "scotus",
        "dateFiled": "1954-05-17",
        "citation": ["347 U.S. 483"],
        "absolute_url": "/opinion/105221/brown/",
        "opinions": [{"snippet": "separate but equal"}],
    }
    with respx.mock(assert_all_called=True) as mock:
        search = mock.get(f"{API}/search/").respond(200, json={"count": 1, "results": [opinion]})
        data, (searched, cited) = run_commands(
            alice,
            "casedev legal search 'separate but equal' --court scotus --top-k 1",
            "echo 'See Brown, 347 U.S. 483 (1954).' | casedev legal citations --no-resolve --json",
        )
    assert searched["exitCode"] == 0, searched
    assert (
        "1. Brown v. Board of Education (Supreme Court of the United States, 1954-05-17)"
        in (searched["stdout"])
    )
    assert "https://www.courtlistener.com/opinion/105221/brown/" in searched["stdout"]
    assert search.calls.last.request.url.params["court"] == "scotus"
    assert cited["exitCode"] == 0, cited
    citations = json.loads(cited["stdout"])
    assert [c["normalized"] for c in citations["citations"]] == ["347 U.S. 483"]
    assert citations["resolved"] is False
    steps = cli_steps(data["runId"])
    assert [s.tool_name for s in steps if s.type == "tool_call"] == [
        "legal-research.search",
        "legal-research.citations",
    ]
    assert steps[-2].tool_input == {"text": "See Brown, 347 U.S. 483 (1954).\n", "resolve": False}


def test_a_document_outside_the_scope_is_refused(alice, docs):
    nda, side, foreign = docs["nda"], docs["side"], docs["foreign"]
    data, (own_vault, other_org) = run_commands(
        alice,
        f"casedev vault read {side.id}",
        f"casedev vault search indemnity --object {foreign.id}",
        vaultIds=[docs["vault"].id],
        objectIds=[nda.id],
    )
    for result, object_id in ((own_vault, side.id), (other_org, foreign.id)):
        assert result["exitCode"] == 1, result
        assert result["stdout"] == ""
        assert f"object {object_id} is not in this run's scope" in result["stderr"]
        assert result["stderr"].startswith("casedev: ")
    refused = [s for s in cli_steps(data["runId"]) if s.type == "tool_result"]
    assert [(s.tool_name, s.is_error) for s in refused] == [
        ("vault.read", True),
        ("vault.search", True),
    ]
    assert "not in this run's scope" in refused[0].tool_output


def test_a_denied_tool_is_refused(alice, docs):
    data, (denied, allowed) = run_commands(
        alice,
        "casedev vault search indemnity",
        "casedev vault list --json",
        vaultIds=[docs["vault"].id],
        disabledTools=["vault.search"],
    )
    assert denied["exitCode"] == 1
    assert "vault.search" in denied["stderr"] and "not enabled for this run" in denied["stderr"]
    assert allowed["exitCode"] == 0
    assert json.loads(allowed["stdout"])["vaults"][0]["id"] == docs["vault"].id
    [refused] = [s for s in cli_steps(data["runId"]) if s.type == "tool_result" and s.is_error]
    assert refused.tool_name == "vault.search"


def test_help_version_and_bad_arguments(alice):
    data, (helped, version, bad, outside) = run_commands(
        alice,
        "casedev --help",
        "casedev --version",
        "casedev vault search",
        "env -u LINC_CLI_SOCKET casedev vault list",
    )
    assert helped["exitCode"] == 0 and "{vault,legal,memory}" in helped["stdout"]
    assert version["exitCode"] == 0 and version["stdout"].startswith("casedev ")
    assert bad["exitCode"] == 2 and "the following arguments are required: query" in bad["stderr"]
    assert outside["exitCode"] == 3 and "LINC_CLI_SOCKET is not set" in outside["stderr"]
    assert cli_steps(data["runId"]) == []  # nothing reached the host
