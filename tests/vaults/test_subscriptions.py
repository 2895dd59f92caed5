"""Vault event subscriptions: signed Standard Webhooks deliveries of uploads, ingests and
deletes, through the outbox, retry policy and SSRF guard of run callbacks."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import Member
from tests.vaults.conftest import AddDocument
from vaults import services, subscriptions
from vaults.models import EventDelivery, EventSubscription, Vault

OWN_SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


class Receiver:
    """A local HTTP server answering a scripted list of status codes."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/vault"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self, secret: str) -> list[dict[str, Any]]:
        """Every request's body, each verified against its signature."""
        return [Webhook(secret).verify(body, headers) for headers, body in self.requests]


@pytest.fixture
def insecure(settings) -> None:
    settings.ALLOW_INSECURE_CALLBACKS = True  # the receiver listens on loopback over http
    settings.CALLBACK_BACKOFF_BASE_S = 0.01
    settings.CALLBACK_MAX_ATTEMPTS = 3


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        made.append(Receiver(statuses or []))
        return made[-1]

    yield make
    for r in made:
        r.server.shutdown()
        r.server.server_close()


def subscribe(member: Member, vault: Vault, **body: Any) -> Any:
    return member.client.post(f"/vault/{vault.id}/events/subscriptions", body, format="json")


def test_it_creates_a_subscription_for_every_event_type_by_default(
    alice: Member, vault: Vault, insecure: None, receiver
) -> None:
    hook = receiver()

    response = subscribe(alice, vault, callbackUrl=hook.url)

    assert response.status_code == 201, response.content
    body = response.json()["subscription"]
    assert body["id"].startswith("vsub_") and body["vaultId"] == vault.id
    assert body["callbackUrl"] == hook.url and body["isActive"] is True
    assert body["eventTypes"] == [
        "vault.object.uploaded", "vault.ingest.completed", "vault.ingest.failed",
        "vault.object.deleted",
    ]  # fmt: skip
    assert body["objectIds"] == [] and body["hasSigningSecret"] is False
    assert EventSubscription.objects.get(id=body["id"]).vault_id == vault.id


def test_uploads_ingests_and_deletes_are_delivered_signed_with_the_org_secret(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    hook = receiver()
    subscribe(alice, vault, callbackUrl=hook.url)

    obj = add_document(vault, "nda.txt", "The indemnity clause.")
    broken = add_document(vault, "broken.pdf", b"%PDF-1.7 garbage", "application/pdf")
    obj_id = obj.id
    services.object_delete(obj=obj)
    assert subscriptions.deliver_due(wait_s=0) == 5

    events = hook.events(alice.organization.webhook_secret)
    assert [(e["type"], e["data"]["objectId"]) for e in events] == [
        ("vault.object.uploaded", obj_id),
        ("vault.ingest.completed", obj_id),
        ("vault.object.uploaded", broken.id),
        ("vault.ingest.failed", broken.id),
        ("vault.object.deleted", obj_id),
    ]
    assert all(e["data"]["vaultId"] == vault.id and e["timestamp"] for e in events)
    assert events[0]["data"]["filename"] == "nda.txt" and events[0]["data"]["sizeBytes"] == 21
    assert events[1]["data"]["ingestionStatus"] == "completed"
    assert events[1]["data"]["chunkCount"] == 1
    assert events[3]["data"]["ingestionStatus"] == "failed" and events[3]["data"]["error"]
    assert set(EventDelivery.objects.values_list("state", flat=True)) == {"delivered"}


def test_a_tampered_delivery_does_not_verify(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    hook = receiver()
    subscribe(alice, vault, callbackUrl=hook.url, eventTypes=["vault.object.uploaded"])
    add_document(vault, "nda.txt", "The indemnity clause.")
    subscriptions.deliver_due(wait_s=0)

    headers, body = hook.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(alice.organization.webhook_secret).verify(body.replace(b"nda", b"msa"), headers)


def test_a_subscription_gets_only_its_event_types_and_objects(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    watched = add_document(vault, "watched.txt", "Watched.")
    hook = receiver()
    subscribe(
        alice, vault, callbackUrl=hook.url, eventTypes=["vault.object.deleted"],
        objectIds=[watched.id],
    )  # fmt: skip

    other = add_document(vault, "other.txt", "Other.")
    watched_id = watched.id
    services.object_delete(obj=other)
    services.object_delete(obj=watched)
    subscriptions.deliver_due(wait_s=0)

    events = hook.events(alice.organization.webhook_secret)
    assert [(e["type"], e["data"]["objectId"]) for e in events] == [
        ("vault.object.deleted", watched_id)
    ]


def test_a_subscription_with_its_own_secret_signs_with_it(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    hook = receiver()
    subscribe(alice, vault, callbackUrl=hook.url, signingSecret=OWN_SECRET)

    add_document(vault, "nda.txt", "The indemnity clause.")
    subscriptions.deliver_due(wait_s=0)

    assert [e["type"] for e in hook.events(OWN_SECRET)][:1] == ["vault.object.uploaded"]
    headers, body = hook.requests[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(alice.organization.webhook_secret).verify(body, headers)


def test_a_failing_receiver_is_retried_with_one_webhook_id(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    hook = receiver([500, 503, 200])
    subscribe(alice, vault, callbackUrl=hook.url, eventTypes=["vault.object.uploaded"])

    add_document(vault, "nda.txt", "The indemnity clause.")

    assert subscriptions.deliver_due(wait_s=5) == 3
    assert len({h["webhook-id"] for h, _ in hook.requests}) == 1
    delivery = EventDelivery.objects.get()
    assert delivery.state == "delivered" and delivery.attempts == 3


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "https://127.0.0.1/hook", "https://169.254.169.254/x", "nope"],
)
def test_the_ssrf_guard_refuses_unsafe_callback_urls(
    alice: Member, vault: Vault, settings, url: str
) -> None:
    settings.ALLOW_INSECURE_CALLBACKS = False

    response = subscribe(alice, vault, callbackUrl=url)

    assert response.status_code == 400
    assert "callbackUrl" in response.json()["error"]["fields"]
    assert not EventSubscription.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signingSecret": "not a secret"}, "signingSecret"),
        ({"signingSecret": "whsec_" + base64.b64encode(b"short").decode()}, "signingSecret"),
        ({"eventTypes": ["vault.exploded"]}, "eventTypes.0"),
        ({"eventTypes": []}, "eventTypes"),
        ({"objectIds": ["obj_nope"]}, "objectIds"),
    ],
)
def test_it_refuses_bad_input_with_400(
    alice: Member, vault: Vault, insecure: None, body: dict[str, Any], field: str
) -> None:
    response = subscribe(alice, vault, callbackUrl="http://127.0.0.1:9/hook", **body)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_it_lists_updates_and_deletes(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    hook = receiver()
    sub = subscribe(alice, vault, callbackUrl=hook.url, signingSecret=OWN_SECRET).json()
    path = f"/vault/{vault.id}/events/subscriptions"

    listed = alice.client.get(path).json()
    updated = alice.client.patch(
        f"{path}/{sub['subscription']['id']}",
        {"isActive": False, "clearSigningSecret": True, "eventTypes": ["vault.object.deleted"]},
        format="json",
    )

    assert listed["total"] == 1 and listed["subscriptions"][0] == sub["subscription"]
    assert updated.status_code == 200
    body = updated.json()["subscription"]
    assert body["isActive"] is False and body["hasSigningSecret"] is False
    assert body["eventTypes"] == ["vault.object.deleted"]
    obj = add_document(vault, "nda.txt", "The indemnity clause.")
    services.object_delete(obj=obj)
    assert subscriptions.deliver_due(wait_s=0) == 0 and hook.requests == []

    deleted = alice.client.delete(f"{path}/{sub['subscription']['id']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True
    assert not EventSubscription.objects.exists()
    assert alice.client.get(path).json() == {"subscriptions": [], "total": 0}


def test_deactivating_cancels_pending_retries(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None, receiver
) -> None:
    hook = receiver([500])
    sub = subscribe(
        alice, vault, callbackUrl=hook.url, eventTypes=["vault.object.uploaded"]
    ).json()["subscription"]
    add_document(vault, "nda.txt", "The indemnity clause.")
    subscriptions.deliver_due(wait_s=0)
    assert EventDelivery.objects.get().state == "pending"

    alice.client.patch(
        f"/vault/{vault.id}/events/subscriptions/{sub['id']}", {"isActive": False}, format="json"
    )

    delivery = EventDelivery.objects.get()
    assert delivery.state == "failed" and delivery.last_error == "subscription deactivated"
    assert subscriptions.deliver_due(wait_s=1) == 0 and len(hook.requests) == 1


def test_test_sends_a_signed_test_event(
    alice: Member,
    vault: Vault,
    add_document: AddDocument,
    insecure: None,
    receiver,
    django_capture_on_commit_callbacks,
) -> None:
    hook = receiver()
    obj = add_document(vault, "nda.txt", "The indemnity clause.")
    sub = subscribe(alice, vault, callbackUrl=hook.url).json()["subscription"]
    path = f"/vault/{vault.id}/events/subscriptions/{sub['id']}/test"

    with django_capture_on_commit_callbacks(execute=True):
        plain = alice.client.post(path, {}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        scoped = alice.client.post(
            path,
            {"eventType": "vault.ingest.completed", "objectId": obj.id, "payload": {"note": "hi"}},
            format="json",
        )

    assert plain.status_code == 200 and plain.json()["status"] == "pending"
    assert EventDelivery.objects.get(webhook_id=plain.json()["webhookId"]).state == "delivered"
    assert scoped.json()["eventType"] == "vault.ingest.completed"
    events = hook.events(alice.organization.webhook_secret)
    assert events[0]["type"] == "vault.subscription.test"
    assert events[0]["data"] == {
        "vaultId": vault.id, "objectId": None, "subscriptionId": sub["id"], "test": True,
    }  # fmt: skip
    assert events[1]["type"] == "vault.ingest.completed"
    assert events[1]["data"]["objectId"] == obj.id and events[1]["data"]["note"] == "hi"
    assert json.loads(hook.requests[1][1])["data"]["test"] is True


def test_test_refuses_an_object_of_another_vault(
    alice: Member, vault: Vault, add_document: AddDocument, insecure: None
) -> None:
    other = services.vault_create(organization=alice.organization, name="Other")
    obj = add_document(other, "nda.txt", "The indemnity clause.")
    sub = subscribe(alice, vault, callbackUrl="http://127.0.0.1:9/hook").json()["subscription"]

    response = alice.client.post(
        f"/vault/{vault.id}/events/subscriptions/{sub['id']}/test",
        {"objectId": obj.id},
        format="json",
    )

    assert response.status_code == 400 and "objectId" in response.json()["error"]["fields"]
    assert not EventDelivery.objects.exists()


def test_a_subscription_is_only_found_through_its_own_vault(
    alice: Member, vault: Vault, insecure: None
) -> None:
    other = services.vault_create(organization=alice.organization, name="Other")
    sub = subscribe(alice, vault, callbackUrl="http://127.0.0.1:9/hook").json()["subscription"]

    response = alice.client.delete(f"/vault/{other.id}/events/subscriptions/{sub['id']}")

    assert response.status_code == 404
    assert EventSubscription.objects.filter(id=sub["id"]).exists()
