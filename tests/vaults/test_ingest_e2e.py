"""An ingest never holds the database for long: executes and reads issued while a big document
is being indexed complete normally (a real sandbox runs the execute; the ingest runs in a thread
with its own database connection, extracting in its child process)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from tests.conftest import Member
from vaults import services
from vaults.models import Chunk, ObjectStatus, Vault, VaultObject

pytestmark = pytest.mark.e2e


def clause(n: int) -> str:
    return (
        f"<h2>Clause {n}</h2><p>The tenant shall keep the premises in good repair and shall "
        f"notify the landlord of any defect within {n % 30 + 1} days of discovering it.</p>"
    )


def ingest_in_thread(object_id: str, result: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        try:
            result["object"] = services.object_ingest_run(object_id=object_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_an_execute_during_a_big_ingest_completes_normally(
    transactional_db, alice: Member, vault: Vault, settings, monkeypatch
) -> None:
    settings.INGEST_CHUNK_BATCH = 50
    html = "<html><body>" + "".join(clause(n) for n in range(6000)) + "</body></html>"
    big = services.object_create_with_content(
        vault=vault, filename="lease.html", content=[html.encode()]
    )
    # Hold the ingest between two batches of chunks until the execute is done, so the two
    # certainly overlap: the ingest has committed chunks and has more to write.
    first_batch_written, execute_done = threading.Event(), threading.Event()
    add_batch = services._chunks_add

    def add_batch_then_wait(*args: Any) -> bool:
        added = add_batch(*args)
        if not first_batch_written.is_set():
            first_batch_written.set()
            execute_done.wait(timeout=120)
        return added

    monkeypatch.setattr(services, "_chunks_add", add_batch_then_wait)
    result: dict[str, Any] = {}
    thread = ingest_in_thread(big.id, result)
    try:
        assert first_batch_written.wait(timeout=120)
        assert Chunk.objects.filter(object_id=big.id).count() == 50  # committed, visible
        executed = alice.client.post(
            "/agent/v1/execute", {"prompt": "Still here?", "model": "local/echo"}, format="json"
        )
        listed = alice.client.get("/vault")
        still = VaultObject.objects.get(id=big.id)
    finally:
        execute_done.set()
        thread.join(timeout=120)

    assert executed.status_code == 200, executed.content
    assert executed.json()["status"] == "completed" and executed.json()["output"] == "Still here?"
    assert listed.status_code == 200 and listed.json()
    assert still.status == ObjectStatus.PROCESSING  # the execute did not wait for the ingest
    done = result["object"]
    assert done.status == ObjectStatus.COMPLETED, done.error
    assert done.chunk_count == Chunk.objects.filter(object_id=big.id).count() > 50
    assert list(
        Chunk.objects.filter(object_id=big.id).order_by("index").values_list("index", flat=True)
    ) == list(range(done.chunk_count))


def test_an_object_deleted_during_its_ingest_stops_it_cleanly(
    transactional_db, vault: Vault, settings, monkeypatch
) -> None:
    settings.INGEST_CHUNK_BATCH = 50
    html = "<html><body>" + "".join(clause(n) for n in range(2000)) + "</body></html>"
    doomed = services.object_create_with_content(
        vault=vault, filename="lease.html", content=[html.encode()]
    )
    add_batch, calls = services._chunks_add, []

    def delete_after_first_batch(obj: VaultObject, *args: Any) -> bool:
        calls.append(obj.id)
        if len(calls) == 2:
            services.object_delete(obj=VaultObject.objects.get(id=obj.id), force=True)
        return add_batch(obj, *args)

    monkeypatch.setattr(services, "_chunks_add", delete_after_first_batch)
    result: dict[str, Any] = {}
    ingest_in_thread(doomed.id, result).join(timeout=120)

    assert result["object"] is None and len(calls) == 2
    assert not VaultObject.objects.filter(id=doomed.id).exists()
    assert not Chunk.objects.filter(object_id=doomed.id).exists()
    vault.refresh_from_db()
    assert vault.total_objects == 0 and vault.total_chunks == 0
