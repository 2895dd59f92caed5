"""django-q2 task entry points: thin, and callable directly."""

from vaults import services


def ingest_object(object_id: str) -> str | None:
    obj = services.object_ingest_run(object_id=object_id)
    return obj.status if obj is not None else None
