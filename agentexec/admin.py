"""Admin building blocks every app uses (the apps' admins import them from here, not from each
other): view-only audit records, and links to a run by id."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html


class ReadOnlyAdminMixin:
    """View-only: records written by the services must not be changed by hand."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        declared = getattr(self, "fields", None)
        return declared or [field.name for field in self.model._meta.fields]  # type: ignore[attr-defined]


def run_ref(run_id: str | None) -> str:
    """A link to a run's admin page by id: listing steps, usage or sandboxes must not load each
    row's run (prompt, output and logs) just to print its id."""
    if run_id is None:
        return "—"
    return format_html(
        '<a href="{}">{}</a>', reverse("admin:runs_run_change", args=[run_id]), run_id
    )
