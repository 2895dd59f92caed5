"""The casedev 0.71.0 SDK, unchanged, against a live test server: OCR words, summaries, vault
memory and vault event subscriptions. Every response parses into the SDK's types with every
field they declare present."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import casedev
import httpx
import pydantic
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import Member
from tests.vaults.documents import make_pdf, make_scanned_pdf

pytestmark = pytest.mark.e2e

SCAN = [
    ["SCANNED LEASE AGREEMENT", "The tenant pays rent monthly."],
    ["Termination. Either party may", "terminate with ninety days notice."],
]
OWN_SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def sdk(member: Member, live_server) -> casedev.Casedev:
    return casedev.Casedev(api_key=member.raw_key, base_url=live_server.url, max_retries=0)


def complete(model: pydantic.BaseModel) -> None:
    """Every field the SDK type declares came in the response (null counts), nested too."""
    missing = set(type(model).model_fields) - model.model_fields_set
    assert not missing, f"{type(model).__name__} lacks {sorted(missing)}"
    for name in type(model).model_fields:
        value = getattr(model, name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, pydantic.BaseModel):
                complete(item)


def upload(client: casedev.Casedev, vault_id: str, filename: str, data: bytes, kind: str) -> str:
    created = client.vault.upload(vault_id, filename=filename, content_type=kind)
    put = httpx.put(
        created.upload_url or "",
        content=data,
        headers={"Content-Type": kind, "Connection": "close"},
    )
    assert put.status_code == 200
    client.vault.ingest(created.object_id or "", id=vault_id)
    return created.object_id or ""


def test_the_sdk_ocrs_a_scanned_pdf_that_then_answers_search_and_ocr_words(
    alice: Member, live_server
) -> None:
    with sdk(alice, live_server) as client:
        vid = client.vault.create(name="Scans").id or ""
        object_id = upload(client, vid, "scan.pdf", make_scanned_pdf(SCAN), "application/pdf")

        found = client.vault.search(vid, query="ninety days notice", top_k=3)
        words = client.vault.objects.get_ocr_words(object_id, id=vid)
        page_two = client.vault.objects.get_ocr_words(object_id, id=vid, page=2)
        window = client.vault.objects.get_ocr_words(object_id, id=vid, word_start=2, word_end=4)

    assert found.chunks and found.chunks[0].object_id == object_id
    assert found.chunks[0].page_start == found.chunks[0].page_end == 2
    complete(words)
    assert words.object_id == object_id and words.page_count == 2
    assert [p.page for p in words.pages or []] == [1, 2]
    assert words.total_words == sum(len(p.words or []) for p in words.pages or [])
    first = (words.pages or [])[0].words or []
    assert [w.text for w in first[:3]] == ["SCANNED", "LEASE", "AGREEMENT"]
    assert all(len(w.bbox or []) == 4 and 0 < (w.confidence or 0) <= 1 for w in first)
    assert [p.page for p in page_two.pages or []] == [2]
    assert [w.word_index for p in window.pages or [] for w in p.words or []] == [2, 3, 4]


def test_the_sdk_summarizes_an_object_and_reads_the_job(alice: Member, live_server) -> None:
    pages = ["1. Rent. The tenant pays rent of 12,000 dollars each month to the landlord.",
             "2. Term. The lease term is five years, renewable once by notice to the landlord."]  # fmt: skip
    with sdk(alice, live_server) as client:
        vid = client.vault.create(name="Leases").id or ""
        object_id = upload(client, vid, "lease.pdf", make_pdf(pages), "application/pdf")

        started = client.post(
            f"/vault/{vid}/objects/{object_id}/summarize", cast_to=httpx.Response
        ).json()
        job = client.vault.objects.get_summarize_job(started["jobId"], id=vid, object_id=object_id)
        result = client.vault.objects.get_text(job.result_object_id or "", id=vid)

    complete(job)
    assert job.status == "completed" and job.source_object_id == object_id
    assert job.result_filename == "lease-summary.md" and job.error is None
    assert "(p. 2)" in (result.text or "")


def test_the_sdk_writes_lists_updates_searches_and_deletes_memory(
    alice: Member, live_server
) -> None:
    with sdk(alice, live_server) as client:
        vid = client.vault.create(name="Matter memory").id or ""
        created = client.vault.memory.create(
            vid, content="Acme is the licensor.", type="party", source="msa.pdf p. 1",
            tags=["acme"],
        )  # fmt: skip
        client.vault.memory.create(vid, content="Notice period: 60 days.", type="deadline")
        entry_id = (created.entry.id if created.entry else None) or ""
        client.vault.memory.update(entry_id, id=vid, content="Acme Corp is the licensor.")
        listed = client.vault.memory.list(vid)
        found = client.vault.memory.search(vid, query="who is the licensor?", types=["party"])
        client.vault.memory.delete(entry_id, id=vid)
        after = client.vault.memory.list(vid)

    complete(created)
    complete(listed)
    complete(found)
    assert created.entry and created.entry.created_by == f"api:{alice.api_key.prefix}"
    assert [e.content for e in listed.entries or []] == [
        "Acme Corp is the licensor.", "Notice period: 60 days.",
    ]  # fmt: skip
    assert listed.meta and listed.meta.count == 2 and listed.meta.max_chars
    assert [r.id for r in found.results or []] == [entry_id]
    assert [e.type for e in after.entries or []] == ["deadline"]


def subscription_ids(client: casedev.Casedev, vault_id: str) -> list[str]:
    """The SDK's list answers None; its raw response holds the subscriptions."""
    body = client.vault.events.subscriptions.with_raw_response.list(vault_id).http_response.json()
    return [s["id"] for s in body["subscriptions"]]


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook(settings):
    settings.ALLOW_INSECURE_CALLBACKS = True  # the receiver listens on loopback over http
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def test_the_sdk_manages_event_subscriptions_whose_deliveries_verify(
    alice: Member, live_server, hook: Receiver
) -> None:
    with sdk(alice, live_server) as client:
        vid = client.vault.create(name="Watched").id or ""
        client.vault.events.subscriptions.create(vid, callback_url=hook.url)  # answers None
        sub_id = subscription_ids(client, vid)[0]
        object_id = upload(client, vid, "nda.txt", b"The indemnity clause.", "text/plain")
        client.vault.events.subscriptions.update(sub_id, id=vid, signing_secret=OWN_SECRET)
        client.vault.events.subscriptions.test(
            sub_id, id=vid, object_id=object_id, payload={"note": "hello"}
        )
        client.vault.events.subscriptions.delete(sub_id, id=vid)
        after = subscription_ids(client, vid)

    org = [Webhook(alice.organization.webhook_secret).verify(b, h) for h, b in hook.requests[:2]]
    assert [(e["type"], e["data"]["objectId"]) for e in org] == [
        ("vault.object.uploaded", object_id),
        ("vault.ingest.completed", object_id),
    ]
    test = Webhook(OWN_SECRET).verify(hook.requests[2][1], hook.requests[2][0])
    assert test["type"] == "vault.subscription.test" and test["data"]["note"] == "hello"
    assert test["data"]["vaultId"] == vid and test["data"]["objectId"] == object_id
    assert len(hook.requests) == 3 and after == []


def test_the_sdk_sees_another_organizations_ids_as_not_found(
    alice: Member, charlie: Member, live_server, settings
) -> None:
    settings.ALLOW_INSECURE_CALLBACKS = True
    with sdk(alice, live_server) as owner, sdk(charlie, live_server) as outsider:
        vid = owner.vault.create(name="Private").id or ""
        object_id = upload(owner, vid, "nda.txt", b"The indemnity clause.", "text/plain")
        entry = owner.vault.memory.create(vid, content="Secret.", type="fact").entry
        entry_id = (entry.id if entry else None) or ""
        owner.vault.events.subscriptions.create(vid, callback_url="http://127.0.0.1:9/x")
        sub_id = subscription_ids(owner, vid)[0]

        calls = [
            lambda: outsider.vault.objects.get_ocr_words(object_id, id=vid),
            lambda: outsider.vault.objects.get_summarize_job("sumjob_x", id=vid,
                                                             object_id=object_id),
            lambda: outsider.vault.memory.list(vid),
            lambda: outsider.vault.memory.search(vid, query="secret"),
            lambda: outsider.vault.memory.delete(entry_id, id=vid),
            lambda: outsider.vault.events.subscriptions.list(vid),
            lambda: outsider.vault.events.subscriptions.test(sub_id, id=vid),
            lambda: outsider.vault.events.subscriptions.delete(sub_id, id=vid),
        ]  # fmt: skip
        for call in calls:
            with pytest.raises(casedev.NotFoundError):
                call()
        assert len(owner.vault.memory.list(vid).entries or []) == 1
