import base64
import secrets

from django.db import models

from agentexec import ids


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Organization(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.org_id, editable=False)
    name = models.CharField(max_length=200, unique=True)
    # Signs run callbacks (Standard Webhooks): "whsec_" + base64 of 32 random bytes.
    webhook_secret = models.CharField(max_length=100, default=new_webhook_secret)
    # Monthly budgets (calendar month, UTC); empty means unlimited. A run that would start once
    # this month's usage has reached a budget is refused; a running run is never stopped.
    monthly_token_budget = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens (input + output) per calendar month, UTC."
    )
    monthly_cost_budget_micros = models.PositiveBigIntegerField(
        null=True,
        blank=True,
        help_text="Model cost per calendar month (UTC), in micro-dollars: 1000000 = $1.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    """Only a display prefix and the SHA-256 of the key are stored; the key is shown once."""

    id = models.CharField(primary_key=True, max_length=40, default=ids.key_id, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
