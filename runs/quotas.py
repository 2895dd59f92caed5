"""Per-organization quotas: how many runs may run at once (ORG_MAX_CONCURRENT_RUNS) and the
optional monthly token and cost budgets on the Organization record.

The checks run where a run starts: inside the transaction that makes it `running` (execute,
or the worker's claim), with the organization's row locked first, so two starts of one
organization are serialized and cannot both take the last slot. On PostgreSQL the lock is
`SELECT ... FOR UPDATE` on the organization; SQLite has no row locks, but its transactions are
IMMEDIATE (settings), which serializes every writer anyway."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from agentexec.errors import TooManyRequests
from agentexec.tenancy.models import Organization
from runs.models import Run, RunStatus, UsageEntry, UsageKind

# What a client over the concurrency limit is told to wait: about how long a short run takes.
CONCURRENCY_RETRY_AFTER_S = 5


def month_start(now: datetime | None = None) -> datetime:
    """Midnight UTC on the first day of `now`'s month (budgets are per calendar month, UTC)."""
    now = (now or timezone.now()).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month_start(now: datetime | None = None) -> datetime:
    start = month_start(now)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


@dataclass(frozen=True)
class MonthUsage:
    tokens: int
    cost_micros: int


def month_usage(*, organization_id: str, now: datetime | None = None) -> MonthUsage:
    """This calendar month's tokens and priced model cost of one organization, summed by the
    database over usage_org_month_idx (organization, created_at)."""
    totals = UsageEntry.objects.filter(
        organization_id=organization_id, created_at__gte=month_start(now)
    ).aggregate(
        tokens=Coalesce(Sum("total_tokens"), 0),
        cost=Coalesce(Sum("cost_micros", filter=Q(kind=UsageKind.LLM)), 0),
    )
    return MonthUsage(tokens=totals["tokens"], cost_micros=totals["cost"])


def _usd(micros: int) -> str:
    return f"${micros / 1_000_000:,.2f}"


def budget_exceeded(organization: Organization) -> str | None:
    """Why a run of this organization may not start this month, or None when it may."""
    tokens, cost = organization.monthly_token_budget, organization.monthly_cost_budget_micros
    if tokens is None and cost is None:
        return None
    used = month_usage(organization_id=organization.id)
    if tokens is not None and used.tokens >= tokens:
        return (
            f"monthly token budget used up: {used.tokens:,} of {tokens:,} tokens this month "
            f"(UTC); runs can start again on {next_month_start():%Y-%m-%d}"
        )
    if cost is not None and used.cost_micros >= cost:
        return (
            f"monthly cost budget used up: {_usd(used.cost_micros)} of {_usd(cost)} this month "
            f"(UTC); runs can start again on {next_month_start():%Y-%m-%d}"
        )
    return None


def budget_check(organization: Organization) -> None:
    """Raises a 429 naming the budget when the organization's monthly budget is used up."""
    reason = budget_exceeded(organization)
    if reason:
        wait = (next_month_start() - timezone.now()).total_seconds()
        raise TooManyRequests(reason, retry_after_s=wait)


def organization_lock(organization_id: str) -> Organization:
    """The organization's row, locked until the transaction ends (see the module docstring)."""
    return Organization.objects.select_for_update().get(id=organization_id)


def running_count(organization_id: str) -> int:
    return Run.objects.filter(organization_id=organization_id, status=RunStatus.RUNNING).count()


def slots_free(organization_id: str) -> int | None:
    """How many more runs of the organization may run now; None when there is no limit."""
    limit = settings.ORG_MAX_CONCURRENT_RUNS
    if limit <= 0:
        return None
    return max(0, limit - running_count(organization_id))


def concurrency_message() -> str:
    return (
        f"ORG_MAX_CONCURRENT_RUNS={settings.ORG_MAX_CONCURRENT_RUNS} runs already running for "
        "this organization"
    )


def concurrency_check(organization_id: str) -> None:
    """Raises a 429 when the organization already runs as many runs as it may. Call it with
    the organization locked (organization_lock) and start the run in the same transaction."""
    if slots_free(organization_id) == 0:
        raise TooManyRequests(concurrency_message(), retry_after_s=CONCURRENCY_RETRY_AFTER_S)
