"""The token-usage audit page, its rollups and its CSV exports."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from runs import usage
from tests.factories import make_run, make_usage

MAR = {day: datetime(2025, 3, day, 12, tzinfo=UTC) for day in range(1, 32)}
RANGE = "since=2025-03-10&until=2025-03-12"
PERIOD = usage.Period(start=datetime(2025, 3, 10).date(), end=datetime(2025, 3, 12).date())


@pytest.fixture
def seeded(alice, bob, charlie):
    """Three days in range, one entry either side of it; runs start the day of their usage."""
    sonnet, echo = "anthropic/claude-sonnet-4.6", "local/echo"
    a1 = make_run(
        organization=alice.organization, api_key=alice.api_key, model=sonnet, created_at=MAR[10]
    )
    make_usage(a1, created_at=MAR[10], prompt_tokens=1000, completion_tokens=200, cost_micros=4000)
    make_usage(a1, created_at=MAR[10], prompt_tokens=500, completion_tokens=100, cost_micros=2000)
    make_usage(a1, created_at=MAR[10], kind="api", service="vault", endpoint="vault.search")
    b1 = make_run(
        organization=alice.organization, api_key=bob.api_key, model=echo, created_at=MAR[11]
    )
    make_usage(b1, created_at=MAR[11], prompt_tokens=30, completion_tokens=30, cost_micros=None)
    c1 = make_run(
        organization=charlie.organization, api_key=charlie.api_key, model=sonnet, created_at=MAR[12]
    )
    make_usage(c1, created_at=MAR[12], prompt_tokens=2000, completion_tokens=400, cost_micros=8000)
    outside = make_run(
        organization=charlie.organization, api_key=charlie.api_key, model=echo, created_at=MAR[9]
    )
    make_usage(outside, created_at=MAR[9], prompt_tokens=7, completion_tokens=7, cost_micros=1)
    make_usage(outside, created_at=MAR[13], prompt_tokens=7, completion_tokens=7, cost_micros=1)
    return {"a1": a1, "b1": b1, "c1": c1, "outside": outside}


def rows_of(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_it_totals_the_range(seeded):
    totals = usage.usage_totals(period=PERIOD)
    assert totals == {
        "runs": 3, "calls": 4, "input_tokens": 3530, "output_tokens": 730, "cost": 14000,
        "unknown_cost_calls": 1,
    }  # fmt: skip


def test_it_rolls_up_per_day_and_model(seeded):
    rows = [
        (r["day"].isoformat(), r["model"], r["input_tokens"], r["output_tokens"], r["cost"])
        for r in usage.usage_daily_by_model(period=PERIOD)
    ]
    assert rows == [
        ("2025-03-10", "anthropic/claude-sonnet-4.6", 1500, 300, 6000),
        ("2025-03-11", "local/echo", 30, 30, None),
        ("2025-03-12", "anthropic/claude-sonnet-4.6", 2000, 400, 8000),
    ]


def test_it_rolls_up_by_organization_key_and_model(seeded, alice, bob, charlie):
    by_org = {r["organization__name"]: (r["runs"], r["input_tokens"], r["cost"])
              for r in usage.usage_by_organization(period=PERIOD)}  # fmt: skip
    assert by_org == {"Alice & Partners LLP": (2, 1530, 6000), "Charlie Legal": (1, 2000, 8000)}
    by_key = {r["api_key__name"]: (r["runs"], r["input_tokens"], r["unknown_cost_calls"])
              for r in usage.usage_by_api_key(period=PERIOD)}  # fmt: skip
    assert by_key == {"alice": (1, 1500, 0), "bob": (1, 30, 1), "charlie": (1, 2000, 0)}
    by_model = {r["model"]: (r["runs"], r["calls"], r["output_tokens"])
                for r in usage.usage_by_model(period=PERIOD)}  # fmt: skip
    assert by_model == {"anthropic/claude-sonnet-4.6": (2, 3, 700), "local/echo": (1, 1, 30)}


def test_the_page_shows_totals_and_tables(staff: Client, seeded):
    html = staff.get(f"/ui/usage/?{RANGE}").content.decode()
    assert re.search(r'data-total="runs">3<', html)
    assert re.search(r'data-total="input_tokens">3,530<', html)
    assert re.search(r'data-total="output_tokens">730<', html)
    # 14,000 micro-dollars are priced; one call is not, and says so rather than counting as 0.
    assert re.search(r'data-total="cost">\$0.01<', html)
    assert "+ 1 model call with unknown price" in html
    assert "$0.0060 + unknown (1 call)" in html  # alice's organization
    for text in ["Alice &amp; Partners LLP", "Charlie Legal", "bob", "local/echo"]:
        assert text in html


def test_the_chart_has_one_bar_per_day_and_model(staff: Client, seeded):
    html = staff.get(f"/ui/usage/?{RANGE}").content.decode()
    token_bars = re.findall(
        r'<rect class="bar series-\d" data-metric="tokens" data-model="([^"]+)" '
        r'data-day="([^"]+)" data-value="(\d+)"',
        html,
    )
    assert sorted(token_bars) == [
        ("anthropic/claude-sonnet-4.6", "2025-03-10", "1800"),
        ("anthropic/claude-sonnet-4.6", "2025-03-12", "2400"),
        ("local/echo", "2025-03-11", "60"),
    ]
    cost_bars = re.findall(r'data-metric="cost" data-model="([^"]+)" data-day="([^"]+)"', html)
    assert sorted(cost_bars) == [  # the unpriced echo call draws no cost bar
        ("anthropic/claude-sonnet-4.6", "2025-03-10"),
        ("anthropic/claude-sonnet-4.6", "2025-03-12"),
    ]


def test_unknown_cost_is_never_shown_as_zero(staff: Client, seeded):
    html = staff.get("/ui/usage/?since=2025-03-11&until=2025-03-11").content.decode()
    assert re.search(r'data-total="cost">unknown<', html)
    assert "$0.00" not in html


def test_it_defaults_to_the_last_30_days(staff: Client, alice):
    run = make_run(organization=alice.organization)
    now = timezone.now()
    make_usage(run, created_at=now - timedelta(days=29), prompt_tokens=10)
    make_usage(run, created_at=now - timedelta(days=31), prompt_tokens=1000)
    response = staff.get("/ui/usage/")
    assert response.context["period"] == usage.Period.default()
    assert response.context["totals"]["input_tokens"] == 10


def test_it_falls_back_to_the_default_range_when_the_range_is_backwards(staff: Client, db):
    response = staff.get("/ui/usage/?since=2025-03-12&until=2025-03-10")
    assert response.context["period"] == usage.Period.default()
    assert "before the start date" in response.content.decode()


def test_drill_down_links_list_exactly_the_groups_runs(staff: Client, seeded, alice):
    html = staff.get(f"/ui/usage/?{RANGE}").content.decode()
    org_link = f"/ui/runs/?organization={alice.organization.id}&amp;{RANGE.replace('&', '&amp;')}"
    assert org_link in html
    listed = staff.get(org_link.replace("&amp;", "&")).context["page"].object_list
    assert {r.id for r in listed} == {seeded["a1"].id, seeded["b1"].id}
    model_link = f"/ui/runs/?model=local/echo&amp;{RANGE.replace('&', '&amp;')}"
    assert model_link in html
    key_link = f"/ui/runs/?api_key={alice.api_key.id}&amp;"
    assert key_link in html


def test_the_rollup_csv_has_the_same_numbers(staff: Client, seeded):
    response = staff.get(f"/ui/usage/export.csv?{RANGE}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="usage-rollup-2025-03-10-to-2025-03-12.csv"' in response["Content-Disposition"]
    rows = rows_of(response)
    total = next(r for r in rows if r["group"] == "total")
    assert (total["runs"], total["input_tokens"], total["output_tokens"]) == ("3", "3530", "730")
    assert (total["cost_usd"], total["unknown_cost_calls"]) == ("0.014000", "1")
    days = [(r["date"], r["model"], r["input_tokens"]) for r in rows if r["group"] == "day_model"]
    assert days == [
        ("2025-03-10", "anthropic/claude-sonnet-4.6", "1500"),
        ("2025-03-11", "local/echo", "30"),
        ("2025-03-12", "anthropic/claude-sonnet-4.6", "2000"),
    ]
    echo_day = next(r for r in rows if r["group"] == "day_model" and r["model"] == "local/echo")
    assert echo_day["cost_usd"] == ""  # unknown, not 0
    orgs = {r["organization"]: r["input_tokens"] for r in rows if r["group"] == "organization"}
    assert orgs == {"Alice & Partners LLP": "1530", "Charlie Legal": "2000"}
    keys = {r["api_key_name"]: r["runs"] for r in rows if r["group"] == "api_key"}
    assert keys == {"alice": "1", "bob": "1", "charlie": "1"}
    models = {r["model"]: r["model_calls"] for r in rows if r["group"] == "model"}
    assert models == {"anthropic/claude-sonnet-4.6": "3", "local/echo": "1"}


def test_the_detail_csv_lists_every_entry_in_the_range(staff: Client, seeded):
    response = staff.get(f"/ui/usage/export.csv?{RANGE}&detail=1")
    assert (
        'filename="usage-entries-2025-03-10-to-2025-03-12.csv"' in response["Content-Disposition"]
    )
    rows = rows_of(response)
    assert len(rows) == 5
    assert {r["run_id"] for r in rows} == {seeded["a1"].id, seeded["b1"].id, seeded["c1"].id}
    assert [r["kind"] for r in rows].count("api") == 1
    api = next(r for r in rows if r["kind"] == "api")
    assert (api["service"], api["endpoint"], api["cost_usd"]) == ("vault", "vault.search", "")
    assert [r["created_at"][:10] for r in rows] == ["2025-03-10"] * 3 + ["2025-03-11", "2025-03-12"]
    assert sorted(r["cost_usd"] for r in rows[:3]) == ["", "0.002000", "0.004000"]


def test_csv_cells_cannot_become_spreadsheet_formulas(staff: Client, alice):
    run = make_run(organization=alice.organization, model='=HYPERLINK("http://x")')
    make_usage(run, prompt_tokens=1, cost_micros=1)
    rows = rows_of(staff.get("/ui/usage/export.csv?detail=1"))
    assert rows[0]["model"] == '\'=HYPERLINK("http://x")'


def test_the_page_shows_each_organizations_use_this_month_against_its_budget(
    staff: Client, alice, charlie
):
    type(alice.organization).objects.filter(id=alice.organization.id).update(
        monthly_token_budget=2_000_000, monthly_cost_budget_micros=10_000_000
    )
    run = make_run(organization=alice.organization)
    make_usage(run, total_tokens=1_200_000, cost_micros=12_500_000)
    last_month = usage.month_start() - timedelta(days=1)
    make_usage(run, created_at=last_month, total_tokens=5_000_000, cost_micros=1)
    charlie_run = make_run(organization=charlie.organization)
    make_usage(charlie_run, total_tokens=950, cost_micros=None)

    html = staff.get("/ui/usage/").content.decode()
    budgets = html[html.index('id="budgets"') :]
    alice_row = budgets[budgets.index(f'data-organization="{alice.organization.id}"') :]
    alice_row = alice_row[: alice_row.index("</tr>")]
    assert "1.2M / 2M tokens, 60%" in alice_row
    assert "$12.50 / $10.00, 125%" in alice_row and "budget used up" in alice_row
    assert f"/admin/tenancy/organization/{alice.organization.id.replace('_', '_5F')}/" in alice_row
    charlie_row = budgets[budgets.index(f'data-organization="{charlie.organization.id}"') :]
    charlie_row = charlie_row[: charlie_row.index("</tr>")]
    assert "950 tokens, no budget" in charlie_row and "budget used up" not in charlie_row


def test_organizations_without_budget_or_usage_this_month_are_not_listed(staff: Client, alice):
    rows = staff.get("/ui/usage/").context["budgets"]
    assert rows == []
