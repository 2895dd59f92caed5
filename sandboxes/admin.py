"""Sandboxes are records of what ran where: viewed in the admin, never edited by hand."""

from __future__ import annotations

from django.contrib import admin

from agentexec.admin import ReadOnlyAdminMixin, run_ref
from agentexec.formatting import size
from sandboxes.models import RelayMessage, Sandbox


@admin.register(Sandbox)
class SandboxAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "run_id_link", "organization", "provider", "state", "cpu", "memory_mib", "boot_ms",
        "exit_code", "peak_memory", "cpu_time_ms", "oom_killed", "timed_out", "created_at",
    ]  # fmt: skip
    list_filter = ["provider", "state", "oom_killed", "timed_out", "organization", "created_at"]
    search_fields = ["=id", "=run__id", "organization__name", "hostname"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"

    @admin.display(description="run", ordering="run_id")
    def run_id_link(self, sandbox: Sandbox) -> str:
        return run_ref(sandbox.run_id)

    @admin.display(description="peak memory", ordering="peak_memory_bytes")
    def peak_memory(self, sandbox: Sandbox) -> str:
        return size(sandbox.peak_memory_bytes)


@admin.register(RelayMessage)
class RelayMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Messages in flight between a remote runtime and its run (gone when the run ends)."""

    list_display = ["sandbox_id", "direction", "seq", "created_at"]
    list_filter = ["direction"]
    search_fields = ["=sandbox__id", "=sandbox__run__id"]
