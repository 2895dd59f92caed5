"""Summaries of vault objects: a job queued by POST .../summarize, run on the worker through the
model router (the default model, as for runs; local/extractive offline), stored as a new text
object in the same vault and ingested so it is searchable.

Every model call is reported to the usage recorders (runs registers one that writes a usage
entry, as for a run's model calls), and a job starts only if the budget guards let it (runs
registers the organization's monthly budget check): this app sits below runs and does not
import it."""

from __future__ import annotations

import logging
import posixpath
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from agentexec.errors import ConflictError, NotFoundError
from agentexec.llm import router, summary
from agentexec.llm.base import ModelError, ModelNotRoutable, ModelReply, ModelRequest
from agentexec.llm.pricing import cost_micros
from agentexec.tenancy.models import ApiKey, Organization
from vaults import selectors, services
from vaults.models import ObjectStatus, SummaryJob, SummaryStatus, VaultObject

log = logging.getLogger(__name__)

UsageRecorder = Callable[[SummaryJob, ModelReply, int], object]
_usage_recorders: list[UsageRecorder] = []


def usage_recorder_register(recorder: UsageRecorder) -> None:
    """Called for every model call of a summary job with (job, reply, duration in ms)."""
    if recorder not in _usage_recorders:
        _usage_recorders.append(recorder)


BudgetGuard = Callable[[Organization], None]
_budget_guards: list[BudgetGuard] = []


def budget_guard_register(guard: BudgetGuard) -> None:
    """Called before a job is created; raises (e.g. a 429) when the organization may not spend."""
    if guard not in _budget_guards:
        _budget_guards.append(guard)


# --- Selectors --------------------------------------------------------------------------------


def summary_job_get(*, obj: VaultObject, job_id: str) -> SummaryJob:
    job = SummaryJob.objects.filter(id=job_id, source_object=obj).first()
    if job is None:
        raise NotFoundError(f"Summary job {job_id} not found for object {obj.id}.")
    return job


# --- Services ---------------------------------------------------------------------------------


@transaction.atomic
def summary_job_create(*, obj: VaultObject, api_key: ApiKey | None) -> SummaryJob:
    """A pending job for an object with extracted text, queued once the transaction commits."""
    if obj.status != ObjectStatus.COMPLETED:
        raise ConflictError(
            f"Object {obj.id} has no extracted text to summarize (ingestionStatus is "
            f"{obj.status!r}); it must be ingested successfully first."
        )
    for guard in _budget_guards:
        guard(obj.vault.organization)
    job = SummaryJob.objects.create(
        vault_id=obj.vault_id, source_object=obj, api_key=api_key, model=router.default_model()
    )
    transaction.on_commit(partial(_enqueue, job.id))
    return job


def _enqueue(job_id: str) -> None:
    from django_q.tasks import async_task  # django-q2 reads its settings when imported

    async_task("vaults.tasks.summarize_object", job_id, task_name=f"summary_{job_id}")


def summary_job_run(*, job_id: str) -> SummaryJob | None:
    """Run a pending job to completed or failed; None if it is not pending (never run twice).
    Any failure is the job's own: recorded on it, never raised."""
    claimed = SummaryJob.objects.filter(id=job_id, status=SummaryStatus.PENDING).update(
        status=SummaryStatus.PROCESSING, started_at=timezone.now()
    )
    if not claimed:
        return None
    job = SummaryJob.objects.select_related("source_object", "vault").get(id=job_id)
    try:
        text = _summarize(job)
        result = _store(job, text)
    except (ModelError, ModelNotRoutable, ConflictError) as exc:
        return _end(job, SummaryStatus.FAILED, error=f"{type(exc).__name__}: {exc}")
    except Exception as exc:
        log.exception("summary job %s failed", job.id)
        return _end(job, SummaryStatus.FAILED, error=f"the summary failed unexpectedly ({exc!r})")
    return _end(job, SummaryStatus.COMPLETED, result=result)


def _request(job: SummaryJob) -> ModelRequest:
    obj = job.source_object
    pages, size, truncated = [], 0, False
    for number, page in selectors.page_texts(selectors.object_text(obj=obj)):
        if size + len(page) > settings.SUMMARY_MAX_INPUT_CHARS:
            truncated = True
            break
        pages.append((number, page))
        size += len(page)
    message = summary.document_message(obj.filename, pages, truncated=truncated)
    return ModelRequest(
        model=job.model,
        system=summary.SYSTEM,
        messages=[{"role": "user", "content": [{"type": "text", "text": message}]}],
        tools=[],
        max_tokens=settings.LLM_MAX_TOKENS,
        deadline=time.monotonic() + settings.RUN_TIMEOUT_S,
    )


def _summarize(job: SummaryJob) -> str:
    request = _request(job)
    provider = router.provider_for(router.route(job.model))
    started = time.monotonic()
    reply = provider.complete(request)
    duration_ms = int((time.monotonic() - started) * 1000)
    cost = cost_micros(job.model, reply.usage)
    SummaryJob.objects.filter(id=job.id).update(
        input_tokens=reply.usage.input_tokens,
        output_tokens=reply.usage.output_tokens,
        cost_micros=cost,
    )
    for record in _usage_recorders:
        record(job, reply, duration_ms)
    if not reply.text.strip():
        raise ModelError(f"the model {job.model} answered no summary text")
    return reply.text


def _store(job: SummaryJob, text: str) -> VaultObject:
    source = job.source_object
    stem = posixpath.splitext(source.filename)[0] or "document"
    obj = services.object_create_with_content(
        vault=job.vault,
        filename=f"{stem}-summary.md",
        content=[text.encode("utf-8")],
        content_type="text/markdown",
        metadata={"summaryOf": source.id, "summaryJobId": job.id, "model": job.model},
    )
    return services.object_ingest_run(object_id=obj.id) or obj


def _end(
    job: SummaryJob, status: str, *, error: str | None = None, result: VaultObject | None = None
) -> SummaryJob:
    SummaryJob.objects.filter(id=job.id, status=SummaryStatus.PROCESSING).update(
        status=status, error=error, result_object=result, completed_at=timezone.now()
    )
    job.refresh_from_db()
    return job
