"""The quotation check when a run ends: every quotation in the output becomes a Citation,
verified, altered or not found, with the document, pages, section and offsets of the passage."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from runs import grounding, services
from runs.models import Agent, Citation, Run, RunStatus, RunStep
from runs.outputs import grounding_output
from tests.conftest import Member
from vaults import services as vault_services
from vaults.models import ObjectText, Vault, VaultObject

VERBATIM = "Bluejay shall indemnify, defend and hold harmless Northwind and its affiliates"
ALTERED = (
    "In no event shall Northwind's aggregate liability arising out of or relating to this "
    "Agreement exceed ten thousand dollars"
)
INVENTED = "The parties shall arbitrate every dispute in Geneva under the ICC rules."
OUTPUT = (
    "Top findings:\n\n"
    f'1. Indemnity: "{VERBATIM}" (NDA.pdf, p. 3)\n'
    f"2. Liability: \u201c{ALTERED}\u201d (NDA.pdf, p. 3)\n"
    f'3. Disputes: "{INVENTED}"\n'
)


@pytest.fixture
def demo(alice: Member) -> Vault:
    return vault_services.demo_vault_create(organization=alice.organization)


def running_run(member: Member, **fields) -> Run:
    agent = Agent.objects.create(
        organization=member.organization, name="ephemeral", model="local/echo", is_ephemeral=True
    )
    return Run.objects.create(
        organization=member.organization,
        agent=agent,
        api_key=member.api_key,
        prompt="Review the NDA.",
        model="local/echo",
        status=RunStatus.RUNNING,
        started_at=timezone.now(),
        **fields,
    )


def finish(run: Run, output: str | None, *, status: str = RunStatus.COMPLETED) -> bool:
    return services.run_finish(
        run=run,
        status=status,
        output=output,
        error=None,
        logs_runner="",
        logs_linc="",
        output_object_ids=[],
        tool_calls=0,
    )


def test_a_verbatim_an_altered_and_an_invented_quotation(alice: Member, demo: Vault) -> None:
    run = running_run(alice, vault_ids=[demo.id])
    nda = VaultObject.objects.get(vault=demo, filename="NDA.pdf")
    text = ObjectText.objects.get(object=nda).text

    assert finish(run, OUTPUT)

    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED  # unverified quotations do not fail a run
    verified, altered, invented = Citation.objects.filter(run=run).order_by("index")
    assert (verified.status, altered.status, invented.status) == (
        "verified",
        "altered",
        "not_found",
    )
    assert verified.object_id == nda.id and verified.filename == "NDA.pdf"
    assert verified.vault_id == demo.id
    assert " ".join(text[verified.char_start : verified.char_end].split()) == VERBATIM
    assert (verified.page_start, verified.page_end) == (3, 3)
    assert verified.section == "9. Indemnity"
    assert OUTPUT[verified.output_start : verified.output_end] == f'"{VERBATIM}"'

    assert altered.object_id == nda.id and (altered.page_start, altered.page_end) == (3, 3)
    assert altered.section == "10. Limitation of Liability"
    assert altered.matched_text == text[altered.char_start : altered.char_end]
    assert " ".join(altered.matched_text.split()).endswith("exceed ten thousand U.S. dollars")
    assert altered.diff is not None and {"op": "delete", "text": "U.S."} in altered.diff
    assert altered.similarity is not None and altered.similarity >= 0.8

    assert invented.object_id is None and invented.char_start is None and invented.diff is None
    assert grounding_output(list(grounding.run_citations(run=run))) == {
        "quotes": 3,
        "verified": 1,
        "altered": 1,
        "notFound": 1,
    }


def test_only_documents_in_the_runs_scope_count(alice: Member, charlie: Member, demo) -> None:
    theirs = vault_services.demo_vault_create(organization=charlie.organization)
    lease = VaultObject.objects.get(vault=demo, filename="Office-Lease.md")
    run = running_run(alice, vault_ids=[demo.id], object_ids=[lease.id])
    charlies_run = running_run(charlie, vault_ids=[theirs.id])

    finish(run, f'"{VERBATIM}"')
    finish(charlies_run, f'"{VERBATIM}"')

    assert Citation.objects.get(run=run).status == "not_found"  # the NDA is not in scope
    cited = Citation.objects.get(run=charlies_run).object
    assert cited is not None and cited.vault_id == theirs.id


def test_a_document_the_run_wrote_itself_proves_nothing(alice: Member, demo: Vault) -> None:
    run = running_run(alice, vault_ids=[demo.id])
    claim = "The Supplier warrants that the software is free of every defect forever."
    memo = vault_services.object_create_with_content(
        vault=demo,
        filename="memo.md",
        content=[claim.encode()],
        metadata={"createdByRunId": run.id},
    )
    ingested = vault_services.object_ingest_run(object_id=memo.id)
    assert ingested is not None and ingested.status == "completed"

    finish(run, f'The memo says "{claim}"')

    assert Citation.objects.get(run=run).status == "not_found"


def test_the_documents_the_run_read_are_checked_first_and_a_search_finds_the_rest(
    alice: Member, demo: Vault, settings
) -> None:
    settings.GROUNDING_MAX_SCAN_CHARS = 1  # read only one document in full
    msa = VaultObject.objects.get(vault=demo, filename="Master-Services-Agreement.docx")
    run = running_run(alice, vault_ids=[demo.id])
    RunStep.objects.create(
        run=run,
        sequence=1,
        type="tool_call",
        tool_name="vault.read",
        tool_input={"objectId": msa.id},
    )
    msa_quote = "Customer may terminate this Agreement or any SOW for convenience"

    finish(run, f'"{msa_quote}" and "{VERBATIM}"')

    first, second = Citation.objects.filter(run=run).order_by("index")
    assert first.status == "verified" and first.object_id == msa.id
    assert second.status == "verified" and second.filename == "NDA.pdf"


def test_a_run_without_quotations_or_output_has_no_citations(alice: Member, demo) -> None:
    quiet, failed = running_run(alice), running_run(alice)

    finish(quiet, "No quotations here, only a short 'aside'.")
    finish(failed, None, status=RunStatus.FAILED)

    assert not Citation.objects.exists()


def test_a_cancelled_run_keeps_no_citations(alice: Member, demo: Vault) -> None:
    run = running_run(alice, vault_ids=[demo.id])
    services.run_cancel(run=run)

    assert not finish(run, f'"{VERBATIM}"')

    assert not Citation.objects.filter(run=run).exists()


def test_the_run_list_filter_finds_runs_with_unverified_quotations(alice: Member, demo) -> None:
    clean, flagged, silent = (running_run(alice, vault_ids=[demo.id]) for _ in range(3))
    finish(clean, f'"{VERBATIM}"')
    finish(flagged, OUTPUT)
    finish(silent, "Nothing quoted.")

    annotated: dict[str, Any] = {r.id: r for r in grounding.runs_with_grounding(Run.objects.all())}
    unverified = grounding.runs_unverified(Run.objects.all())

    assert [r.id for r in unverified] == [flagged.id]
    assert (annotated[clean.id].quote_count, annotated[clean.id].unverified_count) == (1, 0)
    assert (annotated[flagged.id].quote_count, annotated[flagged.id].unverified_count) == (3, 2)
    assert (annotated[silent.id].quote_count, annotated[silent.id].unverified_count) == (0, 0)
