"""The staff web UI under /ui/: run history, run review (live while the run goes), the token-usage
audit and, when the vaults app is installed, vault browsing. Staff see every organization."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from functools import wraps
from typing import Any

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from runs import selectors, ui_selectors, usage
from runs.models import Run, RunStatus
from runs.quotas import month_start
from runs.services import run_cancel

RUNS_PER_PAGE = 50
VAULT_ROWS_PER_PAGE = 50
CHUNKS_PER_PAGE = 20
TEXT_PREVIEW_CHARS = 200_000
SUMMARY_JOBS_SHOWN = 20
LIVE_POLL_MS = 1500

View = Callable[..., HttpResponseBase]


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in users who are not staff get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), reverse("ui:login"))
        if not (request.user.is_active and request.user.is_staff):
            return render(request, "runs/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def staff_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in (UI or admin): the login page, 429, and
    Retry-After. Each attempt during the lockout starts the cool-off again."""
    minutes = settings.AXES_COOLOFF_MINUTES
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    context = {
        "form": AuthenticationForm(request, initial={"username": username}),
        "lockout": f"Too many failed sign-ins for this user from this address: try again in "
        f"{minutes} minutes.",
    }
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


def vaults_installed() -> bool:
    return apps.is_installed("vaults")


# --- Forms: the filter state lives in the query string so a view can be shared ---------------


class RunFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *RunStatus.choices], required=False)
    model = forms.CharField(required=False, max_length=200)
    organization = forms.CharField(required=False, max_length=40)
    api_key = forms.CharField(required=False, max_length=40)
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
    q = forms.CharField(required=False, max_length=500)

    def filters(self) -> ui_selectors.RunFilters:
        """The valid fields only: one bad value is reported, the other filters still apply."""
        self.is_valid()
        data = self.cleaned_data
        return ui_selectors.RunFilters(
            status=data.get("status") or "",
            model=data.get("model") or "",
            organization_id=data.get("organization") or "",
            api_key_id=data.get("api_key") or "",
            date_from=data.get("since"),
            date_to=data.get("until"),
            text=data.get("q") or "",
        )


class PeriodForm(forms.Form):
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError("The end date is before the start date.")
        if since and until and (until - since).days >= usage.MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {usage.MAX_DAYS} days.")
        return data

    def period(self) -> usage.Period:
        """The chosen range; a missing end defaults to the last 30 days, a bad range to them all."""
        default = usage.Period.default()
        if not self.is_valid():
            return default
        until = self.cleaned_data.get("until") or default.end
        since = self.cleaned_data.get("since") or until - timedelta(days=usage.DEFAULT_DAYS - 1)
        return usage.Period(start=since, end=until)


# --- Runs ----------------------------------------------------------------------------------


@require_safe
@staff_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("ui:runs")


@require_safe
@staff_required
def run_list(request: HttpRequest) -> HttpResponse:
    form = RunFilterForm(request.GET)
    runs = ui_selectors.runs_filtered(filters=form.filters())
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "statuses": RunStatus.choices,
        "models": ui_selectors.run_models(),
        "organizations": ui_selectors.organizations(),
        "api_keys": ui_selectors.api_keys(),
        "now": timezone.now(),
    }
    return render(request, "runs/run_list.html", context)


def _run_or_404(run_id: str) -> Run:
    run = ui_selectors.run_for_review(run_id=run_id)
    if run is None:
        raise Http404("No such run.")
    return run


def _facts_context(run: Run) -> dict[str, Any]:
    """`elapsed_ms` is the time so far of a run still going, or of one that ended without a
    recorded duration (cancelled, reaped)."""
    elapsed_ms = None
    if run.duration_ms is None and run.started_at:
        end = run.completed_at if run.is_terminal else timezone.now()
        if end is not None:
            elapsed_ms = max(0, int((end - run.started_at).total_seconds() * 1000))
    return {"run": run, "elapsed_ms": elapsed_ms}


@require_safe
@staff_required
def run_detail(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _run_or_404(run_id)
    steps = list(selectors.run_steps(run=run))
    context = {
        **_facts_context(run),
        "steps": steps,
        "last_sequence": steps[-1].sequence if steps else 0,
        "sandboxes": ui_selectors.run_sandboxes(run=run),
        "usage_entries": selectors.run_usage_entries(run=run),
        "watchers": ui_selectors.run_watchers(run=run),
        "deliveries": ui_selectors.run_deliveries(run=run),
        "poll_ms": LIVE_POLL_MS,
    }
    return render(request, "runs/run_detail.html", context)


@require_safe
@staff_required
def run_live(request: HttpRequest, run_id: str) -> JsonResponse:
    """What the review page polls while a run goes: status, new steps and the logs so far."""
    run = _run_or_404(run_id)
    try:
        after = max(0, int(request.GET.get("after", "0")))
    except ValueError:
        after = 0
    steps = list(ui_selectors.run_steps_after(run=run, sequence=after))
    return JsonResponse(
        {
            "status": run.status,
            "terminal": run.is_terminal,
            "facts": render_to_string("runs/_run_facts.html", _facts_context(run), request),
            "steps": render_to_string("runs/_steps.html", {"steps": steps}, request),
            "lastSequence": steps[-1].sequence if steps else after,
            "logs": {"runner": run.logs_runner, "linc": run.logs_linc},
        }
    )


@require_POST
@staff_required
def run_cancel_view(request: HttpRequest, run_id: str) -> HttpResponse:
    run = _run_or_404(run_id)
    if run_cancel(run=run):
        messages.success(request, f"Run {run.id} cancelled.")
    else:
        messages.info(request, f"Run {run.id} had already ended ({run.status}).")
    return redirect("ui:run-detail", run_id=run.id)


# --- Usage audit ---------------------------------------------------------------------------


def _series_order(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Models by total tokens, largest first: the same colour for a model in every chart."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["model"]] = (
            totals.get(row["model"], 0) + row["input_tokens"] + row["output_tokens"]
        )
    return sorted(totals, key=lambda model: (-totals[model], model))


@require_safe
@staff_required
def usage_audit(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET)
    period = form.period()
    daily = usage.usage_daily_by_model(period=period)
    context = {
        "form": form,
        "period": period,
        "totals": usage.usage_totals(period=period),
        "daily": daily,
        "days": period.days,
        "models": _series_order(daily),
        "by_organization": usage.usage_by_organization(period=period),
        "by_api_key": usage.usage_by_api_key(period=period),
        "by_model": usage.usage_by_model(period=period),
        "budgets": usage.budgets_this_month(),
        "month_start": month_start(),
        "range_query": f"since={period.start.isoformat()}&until={period.end.isoformat()}",
    }
    return render(request, "runs/usage.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any) -> Any:
    """Text a spreadsheet would run as a formula is prefixed with ' (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_response(rows: Iterator[list[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    body = (writer.writerow([_csv_cell(v) for v in row]) for row in rows)
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_safe
@staff_required
def usage_export(request: HttpRequest) -> StreamingHttpResponse:
    period = PeriodForm(request.GET).period()
    span = f"{period.start.isoformat()}-to-{period.end.isoformat()}"
    if request.GET.get("detail") == "1":
        return _csv_response(usage.usage_detail_rows(period=period), f"usage-entries-{span}.csv")
    return _csv_response(usage.usage_rollup_rows(period=period), f"usage-rollup-{span}.csv")


# --- Vaults (only when the vaults app is installed) ------------------------------------------


@require_safe
@staff_required
def vault_list(request: HttpRequest) -> HttpResponse:
    from vaults.models import Vault

    vaults = Vault.objects.select_related("organization").order_by("-created_at", "-id")
    organization_id = request.GET.get("organization", "")
    if organization_id:
        vaults = vaults.filter(organization_id=organization_id)
    context = {
        "page": Paginator(vaults, VAULT_ROWS_PER_PAGE).get_page(request.GET.get("page")),
        "organizations": ui_selectors.organizations(),
        "organization_id": organization_id,
    }
    return render(request, "vaults/vault_list.html", context)


@require_safe
@staff_required
def vault_detail(request: HttpRequest, vault_id: str) -> HttpResponse:
    from vaults.models import Vault, VaultObject

    vault = Vault.objects.select_related("organization").filter(id=vault_id).first()
    if vault is None:
        raise Http404("No such vault.")
    # Not vault.objects: on a Vault instance that name is the model's manager, not the relation.
    objects = VaultObject.objects.filter(vault=vault).order_by("-created_at", "-id")
    page = Paginator(objects, VAULT_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "vaults/vault_detail.html", {"vault": vault, "page": page})


@require_safe
@staff_required
def vault_object_detail(request: HttpRequest, vault_id: str, object_id: str) -> HttpResponse:
    from vaults.models import ObjectText, SummaryJob, VaultObject

    obj = (
        VaultObject.objects.select_related("vault__organization")
        .filter(id=object_id, vault_id=vault_id)
        .first()
    )
    if obj is None:
        raise Http404("No such object.")
    extracted = ObjectText.objects.filter(object=obj).first()
    text = extracted.text if extracted else None
    chunks = obj.chunks.order_by("index")
    context = {
        "obj": obj,
        "vault": obj.vault,
        "text": text[:TEXT_PREVIEW_CHARS] if text is not None else None,
        "text_truncated": text is not None and len(text) > TEXT_PREVIEW_CHARS,
        "text_length": len(text) if text is not None else None,
        "page": Paginator(chunks, CHUNKS_PER_PAGE).get_page(request.GET.get("page")),
        "summary_jobs": SummaryJob.objects.filter(source_object=obj).select_related(
            "result_object"
        )[:SUMMARY_JOBS_SHOWN],
    }
    return render(request, "vaults/object_detail.html", context)
