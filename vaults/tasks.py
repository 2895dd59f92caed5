"""django-q2 task entry points: thin, and callable directly."""

from vaults import multipart, services, subscriptions, summaries


def ingest_object(object_id: str) -> str | None:
    obj = services.object_ingest_run(object_id=object_id)
    return obj.status if obj is not None else None


def deliver_events() -> int:
    return subscriptions.deliver_due()


def summarize_object(job_id: str) -> str | None:
    job = summaries.summary_job_run(job_id=job_id)
    return job.status if job is not None else None


def expire_multipart_uploads() -> int:
    return multipart.multipart_uploads_expire()
