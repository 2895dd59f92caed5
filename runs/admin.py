"""Admin for agents, runs, steps and usage. Runs, steps and usage are audit records: they are
viewed here, never edited or deleted; the only write is cancelling runs, through run_cancel."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from agentexec.admin import ReadOnlyAdminMixin, run_ref
from runs.models import (
    Agent,
    CallbackDelivery,
    Citation,
    IdempotencyRecord,
    Run,
    RunEvent,
    RunStatus,
    RunStep,
    UsageEntry,
    Watcher,
)
from runs.services import run_cancel
from runs.templatetags.agentexec_ui import money
from runs.ui_selectors import LIST_DEFERRED
from sandboxes.models import Sandbox


def _ui_link(run_id: str) -> str:
    try:
        url = reverse("ui:run-detail", args=[run_id])
    except NoReverseMatch:  # the staff UI is not mounted
        return "—"
    return format_html('<a href="{}">review</a>', url)


class RunRefMixin:
    @admin.display(description="run", ordering="run_id")
    def run_link(self, obj: Any) -> str:
        return run_ref(obj.run_id)


@admin.register(Agent)
class AgentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "name",
        "organization",
        "model",
        "is_ephemeral",
        "created_at",
        "deleted_at",
    ]
    list_filter = ["is_ephemeral", ("deleted_at", admin.EmptyFieldListFilter), "organization"]
    search_fields = ["id", "name", "organization__name", "model"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"


class RunStepInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RunStep
    verbose_name_plural = "steps"
    fields = ["sequence", "type", "tool_name", "is_error", "duration_ms", "content", "tool_input"]
    ordering = ["sequence"]
    extra = 0
    show_change_link = True


class UsageEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = UsageEntry
    verbose_name_plural = "usage entries"
    fields = [
        "created_at", "kind", "model", "prompt_tokens", "completion_tokens", "cost_micros",
        "service", "endpoint", "status_code",
    ]  # fmt: skip
    ordering = ["created_at", "id"]
    extra = 0


class SandboxInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Sandbox
    verbose_name_plural = "sandboxes"
    fields = ["provider", "state", "cpu", "memory_mib", "boot_ms", "exit_code", "oom_killed"]
    extra = 0
    show_change_link = True


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "id", "status", "organization", "api_key", "model", "created_at", "duration_ms",
        "input_tokens", "output_tokens", "tool_calls", "cost", "review",
    ]  # fmt: skip
    list_filter = ["status", "model", "provider", "organization", "created_at"]
    search_fields = [
        "=id", "organization__name", "api_key__prefix", "api_key__name", "agent__id",
        "agent__name", "model",
    ]  # fmt: skip
    list_select_related = ["organization", "api_key", "agent"]
    date_hierarchy = "created_at"
    inlines = [RunStepInline, UsageEntryInline, SandboxInline]
    actions = ["cancel_runs"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        runs = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name == "runs_run_changelist":
            runs = runs.defer(*LIST_DEFERRED)  # the list never shows prompts, outputs or logs
        return runs

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Run._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs are created through the API

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a run's usage entries are the audit trail

    @admin.display(description="cost", ordering="cost_micros")
    def cost(self, run: Run) -> str:
        return money(run.cost_micros)

    @admin.display(description="staff UI")
    def review(self, run: Run) -> str:
        return _ui_link(run.id)

    @admin.action(description="Cancel selected queued or running runs", permissions=["change"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        active = queryset.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        cancelled = sum(1 for run in active if run_cancel(run=run))
        self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)


@admin.register(RunStep)
class RunStepAdmin(RunRefMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "run_link", "sequence", "type", "tool_name", "is_error", "duration_ms"]
    list_filter = ["type", "is_error"]
    search_fields = ["=run__id", "tool_name", "run__organization__name"]


@admin.register(UsageEntry)
class UsageEntryAdmin(RunRefMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "created_at", "run_link", "job_id", "organization", "api_key", "kind", "model",
        "prompt_tokens", "completion_tokens", "cost", "service", "status_code",
    ]  # fmt: skip
    list_filter = ["kind", "model", "organization", "created_at"]
    search_fields = [
        "=run__id", "=job_id", "organization__name", "api_key__prefix", "model", "service",
    ]  # fmt: skip
    list_select_related = ["organization", "api_key"]
    date_hierarchy = "created_at"

    @admin.display(description="cost", ordering="cost_micros")
    def cost(self, entry: UsageEntry) -> str:
        return money(entry.cost_micros)


@admin.register(Citation)
class CitationAdmin(RunRefMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "run_link", "index", "status", "filename", "page_start", "section"]
    list_filter = ["status"]
    search_fields = ["=run__id", "filename", "quote"]
    raw_id_fields = ["object"]


@admin.register(RunEvent)
class RunEventAdmin(RunRefMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "run_link", "sequence", "type", "created_at"]
    list_filter = ["type", "created_at"]
    search_fields = ["=run__id"]


@admin.register(Watcher)
class WatcherAdmin(RunRefMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "run_link", "callback_url", "created_at"]
    search_fields = ["=run__id", "callback_url"]


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(RunRefMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "webhook_id", "run_link", "organization", "event_type", "url", "state", "attempts",
        "last_status", "next_attempt_at", "delivered_at",
    ]  # fmt: skip
    list_filter = ["state", "event_type", "organization", "created_at"]
    search_fields = ["=webhook_id", "=run__id", "url", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "path", "organization", "response_status", "created_at"]
    list_filter = ["path", "organization"]
    search_fields = ["key", "path", "organization__name"]
    list_select_related = ["organization"]
    date_hierarchy = "created_at"
