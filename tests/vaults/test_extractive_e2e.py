"""POST /agent/v1/execute with local/extractive over the demo vault: the real executor, sandbox
and runtime; the answer cites the NDA's real clause text and page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from runs.models import Run, RunStep, UsageEntry
from tests.conftest import Member
from vaults import quotes, services
from vaults.models import Vault, VaultObject

pytestmark = pytest.mark.e2e

EXECUTE = "/agent/v1/execute"


def execute(member: Member, **body: Any) -> dict[str, Any]:
    response = member.client.post(EXECUTE, {"model": "local/extractive", **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def demo(alice: Member) -> Vault:
    return services.demo_vault_create(organization=alice.organization)


def test_it_reviews_the_demo_nda_citing_clause_text_and_page(alice: Member, demo: Vault) -> None:
    body = execute(
        alice,
        prompt=f"Review the NDA in vault {demo.id} and return the top 5 issues.",
        instructions="You are a careful legal reviewer.",
        guidance="Focus on indemnity, liability, term, and confidentiality.",
        vaultIds=[demo.id],
    )

    assert body["status"] == "completed", body
    output = body["output"]
    assert len(re.findall(r"^\d+\. ", output, flags=re.M)) == 5
    assert re.search(
        r'Indemnity: "Bluejay shall indemnify, defend and hold harmless.*\(NDA\.pdf, p\. 3\)',
        output,
    )
    assert "(NDA.pdf, p. 2)" in output and "(NDA.pdf, p. 1)" in output
    run = Run.objects.get(id=body["runId"])
    calls = list(
        RunStep.objects.filter(run=run, type="tool_call").values_list("tool_name", flat=True)
    )
    assert calls[0] == "vault.list" and calls.count("vault.search") >= 4
    assert RunStep.objects.filter(run=run, type="tool_result", is_error=False).count() == len(calls)
    api = UsageEntry.objects.filter(run=run, kind="api")
    assert api.count() == len(calls) and {u.service for u in api} == {"vault"}


def test_it_never_reads_outside_the_objects_it_was_given(alice: Member, demo: Vault) -> None:
    lease = VaultObject.objects.get(vault=demo, filename="Office-Lease.md")

    body = execute(
        alice,
        prompt="What are the top 3 issues with indemnity and liability?",
        vaultIds=[demo.id],
        objectIds=[lease.id],
    )

    assert body["status"] == "completed", body
    assert "Office-Lease.md" in body["output"]
    assert "NDA.pdf" not in body["output"] and "Master-Services-Agreement" not in body["output"]


def test_without_vault_tools_it_says_it_has_no_documents(alice: Member, demo: Vault) -> None:
    body = execute(alice, prompt="Review the NDA.", vaultIds=[demo.id], enabledTools=["shell.exec"])

    assert body["status"] == "completed"
    assert "no documents to work from" in body["output"]


def test_execute_rejects_foreign_and_unknown_vault_and_object_ids(
    alice: Member, charlie: Member, demo: Vault
) -> None:
    theirs = services.vault_create(organization=charlie.organization, name="Charlie's")
    other = services.vault_create(organization=alice.organization, name="Other matter")
    nda = VaultObject.objects.get(vault=demo, filename="NDA.pdf")

    foreign = alice.client.post(
        EXECUTE, {"prompt": "x", "vaultIds": [theirs.id, "vault_nope"]}, format="json"
    )
    outside = alice.client.post(
        EXECUTE, {"prompt": "x", "vaultIds": [other.id], "objectIds": [nda.id]}, format="json"
    )

    assert (
        foreign.status_code == 400 and theirs.id in foreign.json()["error"]["fields"]["vaultIds"][0]
    )
    assert (
        outside.status_code == 400 and nda.id in outside.json()["error"]["fields"]["objectIds"][0]
    )
    assert not Run.objects.exists()


FINDING = re.compile(
    r"^\d+\. (?P<label>[^:\n]+): [\"\u201c](?P<quote>.+)[\"\u201d] \((?P<cite>[^)]+)\)$"
)


@pytest.mark.parametrize(
    ("prompt", "guidance", "count"),
    [
        ("Review the NDA and return the top 5 issues.", "Focus on indemnity, liability, term.", 5),
        ("What are the top 7 risks across these agreements?", None, 7),
        ("When can the lease be terminated, and what rent is due?", None, None),
        ("List 4 issues in the master services agreement.", None, 4),
    ],
)
def test_every_quotation_it_makes_is_a_verified_whole_sentence(
    alice: Member, demo: Vault, prompt: str, guidance: str | None, count: int | None
) -> None:
    body = execute(alice, prompt=prompt, guidance=guidance, vaultIds=[demo.id])

    assert body["status"] == "completed", body
    findings = [m for line in body["output"].splitlines() if (m := FINDING.match(line))]
    citations = body["citations"]
    assert findings and len(citations) == len(findings)
    if count:
        assert len(findings) == count
    assert body["grounding"] == {
        "quotes": len(findings), "verified": len(findings), "altered": 0, "notFound": 0
    }  # fmt: skip
    assert len({c["charStart"] for c in citations}) == len(citations)  # never the same twice
    for finding, citation in zip(findings, citations, strict=True):
        quote = finding["quote"]
        assert citation["quote"] == quote and citation["status"] == "verified"
        first = quote.lstrip('"\u201c(')[0]
        assert first.isupper() or first.isdigit(), quote  # not cut mid-sentence
        assert not quote.endswith(("...", "\u2026")) and quote[-1] in ".;:!?\"')", quote
        assert not quotes.is_heading(quote), quote
        # The label is the clause the quotation comes from.
        assert re.sub(r"^\d+(\.\d+)*\.?\s+", "", citation["section"]) == finding["label"]
        assert finding["cite"].startswith(citation["filename"])
        if citation["pageStart"]:
            assert finding["cite"].endswith(f"p. {citation['pageStart']}")


def test_top_n_spans_the_documents_in_scope(alice: Member, demo: Vault) -> None:
    body = execute(
        alice, prompt="What are the top 7 risks across these agreements?", vaultIds=[demo.id]
    )

    filenames = {c["filename"] for c in body["citations"]}
    assert len(body["citations"]) == 7 and len(filenames) >= 2
