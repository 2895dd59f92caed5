"""What several apps' tables share. No concrete models: the module also exists so that migrate's
post_migrate signal reaches this app."""

from __future__ import annotations

from django.db import models


class DeliveryState(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up


class WebhookDelivery(models.Model):
    """One signed webhook in an outbox (run callbacks, vault events), sent and retried by
    agentexec.webhooks until delivered or given up. Each app adds what the delivery is for, its
    organization and its dispatcher index."""

    url = models.URLField(max_length=2000)
    webhook_id = models.CharField(max_length=64, unique=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    state = models.CharField(
        max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url} ({self.state})"
