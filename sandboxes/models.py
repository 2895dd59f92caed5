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
    boot_ms = models.PositiveIntegerField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    peak_memory_bytes = models.BigIntegerField(null=True, blank=True)
    cpu_time_ms = models.PositiveIntegerField(null=True, blank=True)
    oom_killed = models.BooleanField(default=False)
    timed_out = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.id
