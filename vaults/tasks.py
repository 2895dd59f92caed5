"""django-q2 task entry points: thin, and callable directly."""

from vaults import services, subscriptions


def ingest_object(object_id: str) -> str | None:
    obj = services.object_ingest_run(object_id=object_id)
    return obj.status if obj is not None else None


def deliver_events() -> int:
    return subscriptions.deliver_due()
