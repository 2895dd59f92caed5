"""The staff web UI under /ui/: run history, run review (live while the run goes) and the
token-usage audit. Staff see every organization (the vault pages are vaults/views.py)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from agentexec.staff import staff_required
from agentexec.tenancy.selectors import organizations_by_name
from runs import citation_marks, grounding, selectors, ui_selectors, usage
from runs.models import Citation, Run, RunStatus
from runs.outputs import grounding_output, logs_output
from runs.quotas import month_start
from runs.services import run_cancel

RUNS_PER_PAGE = 50
LIVE_POLL_MS = 1500


# --- Forms: the filter state lives in the query string so a view can be shared ---------------


class RunFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *RunStatus.choices], required=False)
    model = forms.CharField(required=False, max_length=200)
    organization = forms.CharField(required=False, max_length=40)
    api_key = forms.CharField(required=False, max_length=40)
    since = forms.DateField(required=False)
    until = forms.DateField(required=False)
    q = forms.CharField(required=False, max_length=500)
    grounding = forms.ChoiceField(
        choices=[("", "Any"), ("unverified", "Unverified quotations")], required=False
    )

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
    runs = grounding.runs_with_grounding(ui_selectors.runs_filtered(filters=form.filters()))
    if form.cleaned_data.get("grounding") == "unverified":
        runs = grounding.runs_unverified(runs)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "statuses": RunStatus.choices,
        "models": ui_selectors.run_models(),
        "organizations": organizations_by_name(),
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
    citations = list(grounding.run_citations(run=run))
    context = {
        **_facts_context(run),
        "output_html": citation_marks.render_output(run.output, citations, _passage_link),
        "grounding": grounding_output(citations),
        "steps": steps,
        "last_sequence": steps[-1].sequence if steps else 0,
        "sandboxes": ui_selectors.run_sandboxes(run=run),
        "usage_entries": selectors.run_usage_entries(run=run),
        "watchers": ui_selectors.run_watchers(run=run),
        "deliveries": ui_selectors.run_deliveries(run=run),
        "poll_ms": LIVE_POLL_MS,
    }
    return render(request, "runs/run_detail.html", context)


def _passage_link(citation: Citation) -> str | None:
    """The document viewer at the quoted passage (verified and altered quotations)."""
    if not citation.is_linked:
        return None
    url = reverse("ui:vault-object-view", args=[citation.vault_id, citation.object_id])
    return f"{url}?start={citation.char_start}&end={citation.char_end}#hit"


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
            "logs": logs_output(run),
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
