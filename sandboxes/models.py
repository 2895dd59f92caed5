from django.db import models

from agentexec import ids


class SandboxState(models.TextChoices):
    BOOTING = "booting"
    RUNNING = "running"
    ENDED = "ended"
    ERROR = "error"


class Sandbox(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=ids.sandbox_id, editable=False)
    run = models.ForeignKey(
        "runs.Run", on_delete=models.CASCADE, related_name="sandboxes", null=True, blank=True
    )
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="sandboxes"
    )
    provider = models.CharField(max_length=16)
    state = models.CharField(
        max_length=16, choices=SandboxState.choices, default=SandboxState.BOOTING
    )
    cpu = models.PositiveSmallIntegerField()
    memory_mib = models.PositiveIntegerField()
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    # A remote provider's id for the sandbox (Vercel's name, Daytona's id); "" when local.
    remote_id = models.CharField(max_length=64, blank=True, default="")
    boot_ms = models.PositiveIntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    peak_memory_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_time_ms = models.PositiveIntegerField(null=True, blank=True)
    oom_killed = models.BooleanField(default=False)
    timed_out = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    # SHA-256 of the nonce in the runtime's call-home token; cleared when the run ends (revoked).
    callhome_token_hash = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id


class RelayDirection(models.TextChoices):
    UP = "up"  # runtime -> host
    DOWN = "down"  # host -> runtime: the reply to the up message with the same seq


class RelayMessage(models.Model):
    """One protocol message between a remote runtime and its run's executor (the relay's
    transport when there is no Redis). Deleted when the sandbox's relay closes."""

    sandbox = models.ForeignKey(Sandbox, on_delete=models.CASCADE, related_name="relay_messages")
    direction = models.CharField(max_length=4, choices=RelayDirection.choices)
    seq = models.PositiveIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A retried post of the same message is stored once (and so handled once).
            models.UniqueConstraint(
                fields=["sandbox", "direction", "seq"], name="relaymessage_sandbox_dir_seq_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sandbox_id} {self.direction} #{self.seq}"
