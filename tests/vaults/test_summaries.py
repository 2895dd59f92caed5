"""Summaries: a job on the worker through the model router, stored as a new searchable object
in the vault, billed as usage entries like a run's model calls, shown on the staff pages."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.utils import timezone

from agentexec.llm import extractive, summary
from runs import usage
from runs.models import UsageEntry
from tests.conftest import Member
from tests.factories import make_run, make_usage
from tests.vaults.conftest import AddDocument
from tests.vaults.documents import make_pdf
from vaults import selectors, services
from vaults.models import ObjectStatus, SummaryJob, Vault, VaultObject

LEASE = [
    "OFFICE LEASE. The landlord leases the premises at 10 Main Street to the tenant.",
    "2. Rent. The tenant pays rent of 12,000 dollars each month. Rent is due on the first day "
    "of each month. Late rent carries a fee of five percent of the rent.",
    "3. Term. The lease term is five years. The tenant may renew the lease term once for "
    "another five years by notice to the landlord six months before the term ends.",
]


def summarize(member: Member, vault: Vault, obj: VaultObject, capture) -> dict[str, Any]:
    with capture(execute=True):  # the job is queued when the request's transaction commits
        response = member.client.post(f"/vault/{vault.id}/objects/{obj.id}/summarize")
    assert response.status_code == 202, response.content
    return response.json()


def test_the_extractive_summary_quotes_sentences_with_their_pages() -> None:
    message = summary.document_message(
        "lease.pdf", list(enumerate(LEASE, start=1)), truncated=False
    )

    text = extractive.summarize(message)

    assert text == extractive.summarize(message)  # deterministic
    assert text.startswith("Summary of lease.pdf (extractive:")
    points = [line for line in text.splitlines() if line.startswith("- ")]
    assert len(points) >= 3
    for point in points:
        quote, _, page = point[2:].rpartition(" (p. ")
        assert quote.rstrip(" .") in " ".join(LEASE[int(page.rstrip(")")) - 1].split())
    assert any(point.endswith("(p. 3)") for point in points)


def test_a_summary_job_stores_a_searchable_summary_object(
    alice: Member, vault: Vault, add_document: AddDocument, django_capture_on_commit_callbacks
) -> None:
    lease = add_document(vault, "lease.pdf", make_pdf(LEASE), "application/pdf")

    started = summarize(alice, vault, lease, django_capture_on_commit_callbacks)
    job = alice.client.get(f"/vault/{vault.id}/objects/{lease.id}/summarize/{started['jobId']}")

    assert started["jobId"].startswith("sumjob_") and started["status"] == "pending"
    body = job.json()
    assert job.status_code == 200 and body["status"] == "completed", body
    assert body["sourceObjectId"] == lease.id and body["workflowType"] == "summary"
    assert body["model"] == "local/extractive" and body["error"] is None
    assert body["resultFilename"] == "lease-summary.md" and body["completedAt"]
    result = VaultObject.objects.get(id=body["resultObjectId"])
    assert result.vault_id == vault.id and result.status == ObjectStatus.COMPLETED
    assert result.metadata["summaryOf"] == lease.id
    text = selectors.object_text(obj=result).text
    assert "(p. 2)" in text and "(p. 3)" in text
    found = selectors.chunk_search(query="renew the lease term", vault_ids=[vault.id], top_k=5)
    assert result.id in {r.chunk.object_id for r in found}


def test_a_summary_job_is_billed_like_a_run(
    alice: Member, vault: Vault, add_document: AddDocument, django_capture_on_commit_callbacks
) -> None:
    lease = add_document(vault, "lease.pdf", make_pdf(LEASE), "application/pdf")

    started = summarize(alice, vault, lease, django_capture_on_commit_callbacks)

    job = SummaryJob.objects.get(id=started["jobId"])
    entry = UsageEntry.objects.get(job_id=job.id)
    assert entry.run is None and entry.kind == "llm" and entry.model == "local/extractive"
    assert entry.organization_id == alice.organization.id and entry.api_key_id == alice.api_key.id
    assert entry.prompt_tokens == job.input_tokens > 0
    assert entry.completion_tokens == job.output_tokens > 0
    today = timezone.localdate()
    totals = usage.usage_totals(period=usage.Period(start=today, end=today))
    assert totals["calls"] == 1 and totals["input_tokens"] == job.input_tokens
    assert totals["runs"] == 0
    assert [row["organization_id"] for row in usage.usage_by_organization(
        period=usage.Period(start=today, end=today)
    )] == [alice.organization.id]  # fmt: skip


def test_a_summary_job_that_cannot_reach_its_model_fails_with_the_reason(
    alice: Member,
    vault: Vault,
    add_document: AddDocument,
    settings,
    django_capture_on_commit_callbacks,
) -> None:
    settings.DEFAULT_MODEL = "openai/gpt-4.1"  # no OPENAI_API_KEY in the tests
    lease = add_document(vault, "lease.pdf", make_pdf(LEASE), "application/pdf")

    started = summarize(alice, vault, lease, django_capture_on_commit_callbacks)

    body = alice.client.get(
        f"/vault/{vault.id}/objects/{lease.id}/summarize/{started['jobId']}"
    ).json()
    assert body["status"] == "failed" and body["resultObjectId"] is None
    assert "OPENAI_API_KEY" in body["error"]
    assert VaultObject.objects.filter(vault=vault).count() == 1


def test_a_summary_past_the_monthly_budget_is_a_429_and_starts_no_job(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    lease = add_document(vault, "lease.pdf", make_pdf(LEASE), "application/pdf")
    type(alice.organization).objects.filter(id=alice.organization.id).update(
        monthly_token_budget=1000
    )
    make_usage(make_run(organization=alice.organization), prompt_tokens=1000, total_tokens=1000)

    response = alice.client.post(f"/vault/{vault.id}/objects/{lease.id}/summarize")

    assert response.status_code == 429, response.content
    assert "monthly token budget" in response.json()["error"]["message"]
    assert response["Retry-After"]
    assert not SummaryJob.objects.exists()


def test_an_object_without_text_cannot_be_summarized(alice: Member, vault: Vault) -> None:
    obj = services.object_create(vault=vault, filename="a.pdf", content_type="application/pdf")

    response = alice.client.post(f"/vault/{vault.id}/objects/{obj.id}/summarize")

    assert response.status_code == 409
    assert "ingestionStatus" in response.json()["error"]["message"]
    assert not SummaryJob.objects.exists()


def test_a_job_is_only_found_through_its_own_object(
    alice: Member, vault: Vault, add_document: AddDocument, django_capture_on_commit_callbacks
) -> None:
    lease = add_document(vault, "lease.pdf", make_pdf(LEASE), "application/pdf")
    other = add_document(vault, "other.txt", "Another document entirely, with its own words.")
    started = summarize(alice, vault, lease, django_capture_on_commit_callbacks)

    response = alice.client.get(
        f"/vault/{vault.id}/objects/{other.id}/summarize/{started['jobId']}"
    )

    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"


def test_the_staff_object_page_lists_its_summaries(
    alice: Member,
    vault: Vault,
    add_document: AddDocument,
    staff: Client,
    django_capture_on_commit_callbacks,
) -> None:
    lease = add_document(vault, "lease.pdf", make_pdf(LEASE), "application/pdf")
    started = summarize(alice, vault, lease, django_capture_on_commit_callbacks)

    page = staff.get(f"/ui/vaults/{vault.id}/objects/{lease.id}/").content.decode()

    assert started["jobId"] in page and "lease-summary.md" in page
    assert "local/extractive" in page
    audit = staff.get("/ui/usage/")
    assert audit.status_code == 200 and "local/extractive" in audit.content.decode()
