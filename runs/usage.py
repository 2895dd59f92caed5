"""The token-usage audit: rollups of usage entries over a date range, aggregated in the database.

A group's cost is the sum of its known model-call costs; `unknown_cost_calls` counts the model
calls whose price is unknown, so a page can say "unknown" instead of pretending they cost 0.
`runs` counts distinct runs with at least one usage entry in the range."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from agentexec.tenancy.models import Organization
from runs.models import UsageEntry, UsageKind
from runs.quotas import month_start
from runs.ui_selectors import day_start

DEFAULT_DAYS = 30
MAX_DAYS = 366

_LLM = Q(kind=UsageKind.LLM)
METRICS: dict[str, Any] = {
    "runs": Count("run", distinct=True),
    "calls": Count("id", filter=_LLM),
    "input_tokens": Coalesce(Sum("prompt_tokens"), 0),
    "output_tokens": Coalesce(Sum("completion_tokens"), 0),
    "cost": Sum("cost_micros", filter=_LLM),  # micro-dollars; None when nothing is priced
    "unknown_cost_calls": Count("id", filter=_LLM & Q(cost_micros__isnull=True)),
}


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @classmethod
    def default(cls) -> Period:
        today = timezone.localdate()
        return cls(start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def usage_entries_in(*, period: Period) -> QuerySet[UsageEntry]:
    """Entries created on the period's days (served by usage_audit_idx)."""
    return UsageEntry.objects.filter(
        created_at__gte=day_start(period.start),
        created_at__lt=day_start(period.end + timedelta(days=1)),
    )


def usage_totals(*, period: Period) -> dict[str, Any]:
    return usage_entries_in(period=period).aggregate(**METRICS)


def _rollup(
    entries: QuerySet[UsageEntry], group: tuple[str, ...], order: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One row per distinct value of the `group` fields, aggregated by the database."""
    return list(entries.values(*group).annotate(**METRICS).order_by(*order))


def usage_daily_by_model(*, period: Period) -> list[dict[str, Any]]:
    """One row per (day, model) with model calls: the chart's stacked bars."""
    entries = usage_entries_in(period=period).filter(_LLM).annotate(day=TruncDate("created_at"))
    return _rollup(entries, ("day", "model"), ("day", "model"))


def usage_by_organization(*, period: Period) -> list[dict[str, Any]]:
    return _rollup(
        usage_entries_in(period=period),
        ("organization_id", "organization__name"),
        ("-input_tokens", "organization__name"),
    )


def usage_by_api_key(*, period: Period) -> list[dict[str, Any]]:
    return _rollup(
        usage_entries_in(period=period),
        ("api_key_id", "api_key__prefix", "api_key__name", "organization__name"),
        ("-input_tokens", "organization__name", "api_key__prefix"),
    )


def usage_by_model(*, period: Period) -> list[dict[str, Any]]:
    """Model calls only: tool (api) entries carry no model."""
    return _rollup(
        usage_entries_in(period=period).filter(_LLM), ("model",), ("-input_tokens", "model")
    )


# --- Monthly budgets --------------------------------------------------------------------------


def compact(n: int) -> str:
    """1234 → "1.2k", 2000000 → "2M": budgets read at a glance."""
    for size, suffix in ((10**9, "B"), (10**6, "M"), (10**3, "k")):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + suffix
    return str(n)


def _dollars(micros: int) -> str:
    return f"${micros / 1_000_000:,.2f}"


@dataclass(frozen=True)
class BudgetRow:
    """One organization's use this month against its budgets (None: no budget)."""

    organization_id: str
    organization_name: str
    tokens: int
    cost_micros: int
    token_budget: int | None
    cost_budget_micros: int | None

    @staticmethod
    def _percent(used: int, budget: int | None) -> int | None:
        if budget is None:
            return None
        return 100 if budget == 0 else used * 100 // budget

    @property
    def token_percent(self) -> int | None:
        return self._percent(self.tokens, self.token_budget)

    @property
    def cost_percent(self) -> int | None:
        return self._percent(self.cost_micros, self.cost_budget_micros)

    @property
    def tokens_text(self) -> str:
        if self.token_budget is None:
            return f"{compact(self.tokens)} tokens, no budget"
        return (
            f"{compact(self.tokens)} / {compact(self.token_budget)} tokens, {self.token_percent}%"
        )

    @property
    def cost_text(self) -> str:
        if self.cost_budget_micros is None:
            return f"{_dollars(self.cost_micros)}, no budget"
        return (
            f"{_dollars(self.cost_micros)} / {_dollars(self.cost_budget_micros)}, "
            f"{self.cost_percent}%"
        )

    @property
    def over(self) -> bool:
        """A run of this organization would be refused now."""
        return any(p is not None and p >= 100 for p in (self.token_percent, self.cost_percent))


def budgets_this_month(*, now: datetime | None = None) -> list[BudgetRow]:
    """Every organization with a budget or with usage this calendar month (UTC): two queries,
    one aggregate over this month's entries and one over the organizations."""
    used: dict[str, tuple[int, int | None]] = {
        row["organization_id"]: (row["tokens"], row["cost"])
        for row in UsageEntry.objects.filter(created_at__gte=month_start(now))
        .values("organization_id")
        .annotate(tokens=Coalesce(Sum("total_tokens"), 0), cost=Sum("cost_micros", filter=_LLM))
        .order_by()
    }
    organizations = Organization.objects.filter(
        Q(id__in=list(used))
        | Q(monthly_token_budget__isnull=False)
        | Q(monthly_cost_budget_micros__isnull=False)
    ).order_by("name")
    return [
        BudgetRow(
            organization_id=org.id,
            organization_name=org.name,
            tokens=used.get(org.id, (0, 0))[0],
            cost_micros=used.get(org.id, (0, 0))[1] or 0,
            token_budget=org.monthly_token_budget,
            cost_budget_micros=org.monthly_cost_budget_micros,
        )
        for org in organizations
    ]


# --- CSV ------------------------------------------------------------------------------------

ROLLUP_HEADER = [
    "group", "date", "organization_id", "organization", "api_key_id", "api_key_prefix",
    "api_key_name", "model", "runs", "model_calls", "input_tokens", "output_tokens",
    "cost_usd", "unknown_cost_calls",
]  # fmt: skip
DETAIL_HEADER = [
    "id", "created_at", "run_id", "organization_id", "organization", "api_key_prefix", "kind",
    "model", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "service",
    "endpoint", "method", "status_code",
]  # fmt: skip


def usd(cost_micros: int | None) -> str:
    """Exact dollars from micro-dollars; empty when unknown (never a made-up 0)."""
    if cost_micros is None:
        return ""
    return str((Decimal(cost_micros) / Decimal(1_000_000)).quantize(Decimal("0.000001")))


def _rollup_row(group: str, row: dict[str, Any], **keys: Any) -> list[Any]:
    values = {name: keys.get(name, "") for name in ROLLUP_HEADER[1:8]}
    return [
        group,
        *values.values(),
        row["runs"],
        row["calls"],
        row["input_tokens"],
        row["output_tokens"],
        usd(row["cost"]),
        row["unknown_cost_calls"],
    ]


def usage_rollup_rows(*, period: Period) -> Iterator[list[Any]]:
    """The audit page's numbers as one table: a `group` column says which rollup a row is in."""
    yield ROLLUP_HEADER
    yield _rollup_row("total", usage_totals(period=period))
    for row in usage_daily_by_model(period=period):
        yield _rollup_row("day_model", row, date=row["day"].isoformat(), model=row["model"])
    for row in usage_by_organization(period=period):
        yield _rollup_row(
            "organization",
            row,
            organization_id=row["organization_id"],
            organization=row["organization__name"],
        )
    for row in usage_by_api_key(period=period):
        yield _rollup_row(
            "api_key",
            row,
            organization=row["organization__name"],
            api_key_id=row["api_key_id"] or "",
            api_key_prefix=row["api_key__prefix"] or "",
            api_key_name=row["api_key__name"] or "",
        )
    for row in usage_by_model(period=period):
        yield _rollup_row("model", row, model=row["model"])


def usage_detail_rows(*, period: Period) -> Iterator[list[Any]]:
    """Every usage entry in the period, oldest first, streamed from the database."""
    yield DETAIL_HEADER
    entries = (
        usage_entries_in(period=period)
        .select_related("organization", "api_key")
        .order_by("created_at", "id")
    )
    for e in entries.iterator(chunk_size=2000):
        yield [
            e.id,
            e.created_at.isoformat(),
            e.run_id or e.job_id,
            e.organization_id,
            e.organization.name,
            e.api_key.prefix if e.api_key else "",
            e.kind,
            e.model,
            e.prompt_tokens,
            e.completion_tokens,
            e.total_tokens,
            usd(e.cost_micros),
            e.service,
            e.endpoint,
            e.method,
            "" if e.status_code is None else e.status_code,
        ]
