"""Vault event subscriptions: signed Standard Webhooks deliveries of a vault's lifecycle events
(vault.object.uploaded, vault.ingest.completed, vault.ingest.failed, vault.object.deleted).

Events become outbox rows (EventDelivery) in the transaction that made them happen, and are
sent once it commits, through agentexec.webhooks: the SSRF guard (at subscription and again at
send time), the signature (the subscription's own secret, else the organization's webhook
secret, as run callbacks), and the retry policy of run callbacks."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from agentexec import webhooks
from agentexec.errors import ApplicationError, NotFoundError
from vaults.models import (
    EventDelivery,
    EventSubscription,
    ObjectStatus,
    Vault,
    VaultEventType,
    VaultObject,
)

EVENT_TYPES = [t.value for t in VaultEventType]
TEST_EVENT = "vault.subscription.test"
SECRET_BYTES = (24, 64)  # what Standard Webhooks recommends for a secret's size


def check_signing_secret(value: str) -> str:
    """A Standard Webhooks secret: "whsec_" and the base64 of 24 to 64 random bytes."""
    try:
        raw = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApplicationError(
            "signingSecret must be a Standard Webhooks secret: whsec_ and base64.",
            fields={"signingSecret": ["not whsec_ followed by base64"]},
        ) from exc
    low, high = SECRET_BYTES
    if not value.startswith("whsec_") or not low <= len(raw) <= high:
        raise ApplicationError(
            f"signingSecret must be whsec_ and the base64 of {low} to {high} bytes.",
            fields={"signingSecret": [f"whsec_ and the base64 of {low} to {high} bytes"]},
        )
    return value


# --- Selectors --------------------------------------------------------------------------------


def subscription_list(*, vault: Vault) -> QuerySet[EventSubscription]:
    return EventSubscription.objects.filter(vault=vault)


def subscription_get(*, vault: Vault, subscription_id: str) -> EventSubscription:
    found = EventSubscription.objects.filter(vault=vault, id=subscription_id).first()
    if found is None:
        raise NotFoundError(f"Subscription {subscription_id} not found in vault {vault.id}.")
    return found


def unknown_object_ids(*, vault: Vault, object_ids: list[str]) -> list[str]:
    known = set(
        VaultObject.objects.filter(vault=vault, id__in=object_ids).values_list("id", flat=True)
    )
    return [o for o in object_ids if o not in known]


# --- Services ---------------------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *,
    vault: Vault,
    callback_url: str,
    event_types: list[str] | None = None,
    object_ids: list[str] | None = None,
    signing_secret: str | None = None,
) -> EventSubscription:
    return EventSubscription.objects.create(
        vault=vault,
        callback_url=callback_url,
        event_types=list(dict.fromkeys(event_types or EVENT_TYPES)),
        object_ids=list(dict.fromkeys(object_ids or [])),
        signing_secret=signing_secret or "",
    )


@transaction.atomic
def subscription_update(
    *, subscription: EventSubscription, changes: dict[str, Any]
) -> EventSubscription:
    """changes: any of callback_url, event_types, object_ids ([] removes the filter),
    is_active, signing_secret, clear_signing_secret. A subscription made inactive sends
    nothing more, not even the retries it has pending."""
    fields: list[str] = [
        f for f in ("callback_url", "event_types", "object_ids", "is_active") if f in changes
    ]
    for field in fields:
        setattr(subscription, field, changes[field])
    if changes.get("clear_signing_secret"):
        subscription.signing_secret = ""
        fields.append("signing_secret")
    if changes.get("signing_secret"):
        subscription.signing_secret = changes["signing_secret"]
        fields.append("signing_secret")
    if fields:
        subscription.save(update_fields=[*dict.fromkeys(fields), "updated_at"])
    if not subscription.is_active:
        _cancel_pending(subscription, "subscription deactivated")
    return subscription


@transaction.atomic
def subscription_delete(*, subscription: EventSubscription) -> None:
    """Its pending deliveries go with it."""
    subscription.delete()


def _cancel_pending(subscription: EventSubscription, reason: str) -> None:
    EventDelivery.objects.filter(subscription=subscription, state=webhooks.PENDING).update(
        state=webhooks.FAILED, last_error=reason
    )


def _payload(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    body = {"type": event_type, "timestamp": timezone.now(), "data": data}
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


def _delivery(subscription: EventSubscription, event_type: str, payload: dict) -> EventDelivery:
    return EventDelivery.objects.create(
        subscription=subscription,
        organization_id=subscription.vault.organization_id,
        url=subscription.callback_url,
        webhook_id=f"msg_{uuid.uuid4().hex}",
        event_type=event_type,
        payload=payload,
        next_attempt_at=timezone.now(),
    )


def event_emit(
    *, vault_id: str, event_type: str, object_id: str | None, data: dict[str, Any]
) -> list[EventDelivery]:
    """Outbox rows for an event, one per active subscription that wants it; sent once the
    current transaction commits."""
    subscriptions = [
        s
        for s in EventSubscription.objects.select_related("vault").filter(
            vault_id=vault_id, is_active=True
        )
        if event_type in s.event_types and (not s.object_ids or object_id in s.object_ids)
    ]
    if not subscriptions:
        return []
    payload = _payload(event_type, {"vaultId": vault_id, "objectId": object_id, **data})
    deliveries = [_delivery(s, event_type, payload) for s in subscriptions]
    transaction.on_commit(_enqueue_deliveries)
    return deliveries


def object_event_emit(*, object_id: str, event_type: str) -> list[EventDelivery]:
    """An object's event, with what a receiver wants to know about the object then."""
    obj = VaultObject.objects.filter(id=object_id).first()
    if obj is None:
        return []
    data: dict[str, Any] = {
        "filename": obj.filename,
        "contentType": obj.content_type,
        "sizeBytes": obj.size_bytes,
    }
    if event_type in (VaultEventType.INGEST_COMPLETED, VaultEventType.INGEST_FAILED):
        data.update(
            ingestionStatus=obj.status,
            pageCount=obj.page_count,
            chunkCount=obj.chunk_count,
            error=obj.error,
        )
    return event_emit(vault_id=obj.vault_id, event_type=event_type, object_id=obj.id, data=data)


def ingest_event_emit(*, object_id: str, status: str) -> list[EventDelivery]:
    """The end of an ingest: failed, or completed (with text, or stored without)."""
    failed = status == ObjectStatus.FAILED
    event = VaultEventType.INGEST_FAILED if failed else VaultEventType.INGEST_COMPLETED
    return object_event_emit(object_id=object_id, event_type=event)


@transaction.atomic
def subscription_test(
    *,
    subscription: EventSubscription,
    event_type: str | None = None,
    object_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> EventDelivery:
    """A signed test event to this one subscription, through the outbox like any event."""
    event = event_type or TEST_EVENT
    data = {**(payload or {}), "vaultId": subscription.vault_id, "objectId": object_id}
    data["subscriptionId"], data["test"] = subscription.id, True
    delivery = _delivery(subscription, event, _payload(event, data))
    transaction.on_commit(_enqueue_deliveries)
    return delivery


def _enqueue_deliveries() -> None:
    from django_q.tasks import async_task  # django-q2 reads its settings when imported

    async_task("vaults.tasks.deliver_events", q_options={"task_name": "deliver_vault_events"})


def _secret(delivery: EventDelivery) -> str:
    return delivery.subscription.signing_secret or delivery.organization.webhook_secret


def deliver_due(*, wait_s: float | None = None) -> int:
    """Sends every due vault event delivery (see agentexec.webhooks.deliver_due)."""
    outbox = EventDelivery.objects.select_related("subscription", "organization")
    return webhooks.deliver_due(outbox, secret=_secret, wait_s=wait_s)
