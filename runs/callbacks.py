"""Run callbacks: the outbox rows of a run that ended, sent through agentexec.webhooks (the SSRF
guard, Standard Webhooks signing with the organization's secret, retries)."""

from __future__ import annotations

import json
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from agentexec import webhooks
from runs.models import CallbackDelivery, Run
from runs.outputs import callback_output


def deliveries_create(*, run: Run) -> list[CallbackDelivery]:
    """Outbox rows for a run that just ended: one per watcher URL (and the run's callbackUrl)."""
    urls = list(
        dict.fromkeys([run.callback_url, *run.watchers.values_list("callback_url", flat=True)])
    )
    event_type = f"run.{run.status}"
    now = timezone.now()
    payload = json.loads(
        json.dumps(
            {"type": event_type, "timestamp": now, "data": callback_output(run)},
            cls=DjangoJSONEncoder,
        )
    )
    return [
        CallbackDelivery.objects.create(
            run=run,
            organization_id=run.organization_id,
            url=url,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            event_type=event_type,
            payload=payload,
            next_attempt_at=now,
        )
        for url in urls
        if url
    ]


def _secret(delivery: CallbackDelivery) -> str:
    return delivery.organization.webhook_secret


def attempt_delivery(delivery: CallbackDelivery) -> None:
    webhooks.attempt_delivery(delivery, secret=_secret(delivery))


def deliver_due(*, wait_s: float | None = None) -> int:
    """Sends every due run callback (see agentexec.webhooks.deliver_due)."""
    outbox = CallbackDelivery.objects.select_related("organization")
    return webhooks.deliver_due(outbox, secret=_secret, wait_s=wait_s)
