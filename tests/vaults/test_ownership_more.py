"""OCR words, summaries, memory and event subscriptions: another organization's vault, object,
job, entry and subscription ids answer 404 on every endpoint, and change nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from vaults import memory, subscriptions, summaries
from vaults.models import EventDelivery, EventSubscription, MemoryEntry, SummaryJob, Vault

ENDPOINTS = [
    ("get", "/vault/{vault}/objects/{obj}/ocr-words", None),
    ("post", "/vault/{vault}/objects/{obj}/summarize", None),
    ("get", "/vault/{vault}/objects/{obj}/summarize/{job}", None),
    ("get", "/vault/{vault}/memory", None),
    ("post", "/vault/{vault}/memory", {"content": "mine now", "type": "fact"}),
    ("post", "/vault/{vault}/memory/search", {"query": "indemnity"}),
    ("patch", "/vault/{vault}/memory/{entry}", {"content": "mine now"}),
    ("delete", "/vault/{vault}/memory/{entry}", None),
    ("get", "/vault/{vault}/events/subscriptions", None),
    ("post", "/vault/{vault}/events/subscriptions", {"callbackUrl": "http://127.0.0.1:9/x"}),
    ("patch", "/vault/{vault}/events/subscriptions/{sub}", {"isActive": False}),
    ("delete", "/vault/{vault}/events/subscriptions/{sub}", None),
    ("post", "/vault/{vault}/events/subscriptions/{sub}/test", {}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_it_checks_ownership(
    alice: Member,
    charlie: Member,
    vault: Vault,
    add_document: AddDocument,
    settings,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    settings.ALLOW_INSECURE_CALLBACKS = True
    obj = add_document(vault, "nda.txt", "The indemnity clause.")
    sub = subscriptions.subscription_create(vault=vault, callback_url="http://127.0.0.1:9/x")
    job = summaries.summary_job_create(obj=obj, api_key=alice.api_key)
    entry = memory.memory_entry_create(
        vault=vault, content="The indemnity clause.", type="fact", created_by="api:x"
    )

    response = getattr(charlie.client, method)(
        path.format(vault=vault.id, obj=obj.id, sub=sub.id, entry=entry.id, job=job.id),
        body,
        format="json",
    )

    assert response.status_code == 404, response.content
    assert response.json()["error"]["type"] == "not_found"
    sub.refresh_from_db()
    assert sub.is_active and EventSubscription.objects.count() == 1
    assert not EventDelivery.objects.exists()
    entry.refresh_from_db()
    assert entry.content == "The indemnity clause." and MemoryEntry.objects.count() == 1
    assert list(SummaryJob.objects.values_list("id", flat=True)) == [job.id]
