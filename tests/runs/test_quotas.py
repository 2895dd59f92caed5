"""Per-organization quotas: ORG_MAX_CONCURRENT_RUNS and the monthly token and cost budgets."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from runs import quotas, services
from runs.models import Agent, Run
from tests.factories import AgentFactory, RunFactory, make_usage

EXECUTE = "/agent/v1/execute"
RUNS = "/agent/v1/run"


def running_runs(member, count):
    agent = AgentFactory(organization=member.organization)
    now = timezone.now()
    return [
        RunFactory(agent=agent, status="running", started_at=now, heartbeat_at=now)
        for _ in range(count)
    ]


def assert_quota_exceeded(response, *words):
    assert response.status_code == 429, response.content
    error = response.json()["error"]
    assert error["type"] == "quota_exceeded"
    for word in words:
        assert word in error["message"]
    assert int(response["Retry-After"]) >= 1
    return error


@pytest.fixture
def agent(alice):
    return AgentFactory(organization=alice.organization, model="local/echo")


# -- concurrency ----------------------------------------------------------------------------


def test_an_execute_over_the_concurrency_limit_is_a_429_and_creates_nothing(alice, settings):
    settings.ORG_MAX_CONCURRENT_RUNS = 2
    running_runs(alice, 2)
    runs_before, agents_before = Run.objects.count(), Agent.objects.count()
    response = alice.client.post(EXECUTE, {"prompt": "hi", "model": "local/echo"}, format="json")
    error = assert_quota_exceeded(response)
    assert error["message"] == (
        "ORG_MAX_CONCURRENT_RUNS=2 runs already running for this organization"
    )
    assert response["Retry-After"] == str(quotas.CONCURRENCY_RETRY_AFTER_S)
    assert (Run.objects.count(), Agent.objects.count()) == (runs_before, agents_before)


def test_the_limit_counts_only_the_callers_organization(alice, charlie, settings):
    settings.ORG_MAX_CONCURRENT_RUNS = 1
    running_runs(alice, 1)
    response = charlie.client.post(EXECUTE, {"prompt": "hi", "model": "local/echo"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"


def test_ended_runs_do_not_count_and_zero_means_no_limit(alice, settings):
    settings.ORG_MAX_CONCURRENT_RUNS = 1
    RunFactory(agent=AgentFactory(organization=alice.organization), status="completed")
    body = {"prompt": "hi", "model": "local/echo"}
    assert alice.client.post(EXECUTE, body, format="json").status_code == 200
    settings.ORG_MAX_CONCURRENT_RUNS = 0
    running_runs(alice, 3)
    assert alice.client.post(EXECUTE, body, format="json").status_code == 200


def test_a_queued_run_over_the_limit_waits_and_starts_when_a_slot_frees(
    alice, agent, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_CONCURRENT_RUNS = 1
    [blocker] = running_runs(alice, 1)
    run_id = alice.client.post(
        RUNS, {"agentId": agent.id, "prompt": "later"}, format="json"
    ).json()["id"]
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.client.post(f"{RUNS}/{run_id}/exec").status_code == 200
    waiting = Run.objects.get(id=run_id)
    assert waiting.status == "queued" and waiting.dispatched_at is None
    assert waiting.enqueued_at is not None  # handed over: it is not failed, it waits

    with django_capture_on_commit_callbacks(execute=True):
        services.run_cancel(run=blocker)  # frees the slot; the waiting run starts at once
    waiting.refresh_from_db()
    assert waiting.status == "completed" and waiting.output == "later"
    assert waiting.dispatch_count == 2


def test_the_reaper_starts_waiting_runs_when_a_slot_is_free(alice, agent, settings, monkeypatch):
    settings.ORG_MAX_CONCURRENT_RUNS = 1
    run = RunFactory(agent=agent, enqueued_at=timezone.now() - timedelta(seconds=5))
    dispatched: list[str] = []
    monkeypatch.setattr(
        services, "async_task", lambda func, run_id, **kw: dispatched.append(run_id)
    )
    [blocker] = running_runs(alice, 1)
    assert services.runs_reap() == 0
    Run.objects.filter(id=blocker.id).update(status="completed")
    assert services.runs_reap() == 1
    assert dispatched == [run.id]
    run.refresh_from_db()
    assert run.status == "queued" and run.dispatched_at is not None


def test_a_legacy_execute_over_the_limit_is_queued_not_refused(
    alice, settings, django_capture_on_commit_callbacks
):
    settings.ORG_MAX_CONCURRENT_RUNS = 1
    running_runs(alice, 1)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.post(
            EXECUTE, {"prompt": "hi", "model": "local/echo", "agentRuntime": True}, format="json"
        )
    assert response.status_code == 200
    assert Run.objects.get(id=response.json()["runId"]).status == "queued"


def test_a_refused_execute_does_not_use_up_its_idempotency_key(alice, settings):
    settings.ORG_MAX_CONCURRENT_RUNS = 1
    [blocker] = running_runs(alice, 1)
    body, key = {"prompt": "hi", "model": "local/echo"}, {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    assert alice.client.post(EXECUTE, body, format="json", **key).status_code == 429
    Run.objects.filter(id=blocker.id).update(status="completed")
    assert alice.client.post(EXECUTE, body, format="json", **key).status_code == 200


# -- monthly budgets ----------------------------------------------------------------------


def used_this_month(member, tokens, cost_micros=0):
    run = RunFactory(agent=AgentFactory(organization=member.organization), status="completed")
    make_usage(run, prompt_tokens=tokens, total_tokens=tokens, cost_micros=cost_micros)


def set_budget(member, **fields):
    type(member.organization).objects.filter(id=member.organization.id).update(**fields)


def test_an_execute_past_the_token_budget_is_a_429_naming_it(alice):
    set_budget(alice, monthly_token_budget=1000)
    used_this_month(alice, 1000)
    runs_before = Run.objects.count()
    response = alice.client.post(EXECUTE, {"prompt": "hi", "model": "local/echo"}, format="json")
    assert_quota_exceeded(response, "monthly token budget", "1,000 of 1,000 tokens")
    until_next_month = (quotas.next_month_start() - timezone.now()).total_seconds()
    assert abs(int(response["Retry-After"]) - until_next_month) < 5
    assert Run.objects.count() == runs_before


def test_an_execute_past_the_cost_budget_is_a_429_naming_it(alice):
    set_budget(alice, monthly_cost_budget_micros=2_000_000)
    used_this_month(alice, 10, cost_micros=2_500_000)
    response = alice.client.post(EXECUTE, {"prompt": "hi", "model": "local/echo"}, format="json")
    assert_quota_exceeded(response, "monthly cost budget", "$2.50 of $2.00")


def test_under_budget_runs_start_and_last_months_usage_does_not_count(alice):
    set_budget(alice, monthly_token_budget=1000, monthly_cost_budget_micros=1000)
    used_this_month(alice, 999, cost_micros=999)
    run = RunFactory(agent=AgentFactory(organization=alice.organization), status="completed")
    make_usage(
        run, created_at=quotas.month_start() - timedelta(seconds=1), total_tokens=10**6,
        cost_micros=10**6,
    )  # fmt: skip
    response = alice.client.post(EXECUTE, {"prompt": "hi", "model": "local/echo"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "completed"
    assert quotas.month_usage(organization_id=alice.organization.id).tokens > 999


def test_run_create_and_exec_past_the_budget_are_429s(alice, agent):
    run_id = alice.client.post(RUNS, {"agentId": agent.id, "prompt": "hi"}, format="json").json()[
        "id"
    ]
    set_budget(alice, monthly_token_budget=10)
    used_this_month(alice, 10)
    response = alice.client.post(RUNS, {"agentId": agent.id, "prompt": "again"}, format="json")
    assert_quota_exceeded(response, "monthly token budget")
    assert_quota_exceeded(alice.client.post(f"{RUNS}/{run_id}/exec"), "monthly token budget")
    run = Run.objects.get(id=run_id)
    assert run.status == "queued" and run.enqueued_at is None  # exec may be retried later
    legacy = {"prompt": "hi", "model": "local/echo", "agentRuntime": True}
    assert_quota_exceeded(alice.client.post(EXECUTE, legacy, format="json"))


def test_a_queued_run_that_would_start_past_the_budget_fails_clearly(alice, agent):
    run = RunFactory(agent=agent, enqueued_at=timezone.now(), dispatched_at=timezone.now())
    set_budget(alice, monthly_token_budget=10)
    used_this_month(alice, 50)
    assert services.run_claim(run_id=run.id) is None
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("not started: monthly token budget used up: 50 of 10 tokens")


def test_a_budget_does_not_touch_another_organization(alice, charlie):
    set_budget(alice, monthly_token_budget=1)
    used_this_month(alice, 5)
    response = charlie.client.post(EXECUTE, {"prompt": "hi", "model": "local/echo"}, format="json")
    assert response.status_code == 200


def test_the_month_is_the_utc_calendar_month():
    from datetime import UTC, datetime

    assert quotas.month_start(datetime(2025, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2025, 12, 1, tzinfo=UTC
    )
    assert quotas.next_month_start(datetime(2025, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2026, 1, 1, tzinfo=UTC
    )


def test_concurrent_claims_never_push_an_organization_over_its_limit(
    transactional_db, alice, settings
):
    settings.ORG_MAX_CONCURRENT_RUNS = 2
    agent = AgentFactory(organization=alice.organization)
    runs = [RunFactory(agent=agent, enqueued_at=timezone.now()) for _ in range(6)]
    start = threading.Barrier(len(runs))

    def claim(run_id: str) -> None:
        try:
            start.wait()
            services.run_claim(run_id=run_id)
        finally:
            connection.close()

    threads = [threading.Thread(target=claim, args=(r.id,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(Run.objects.filter(agent=agent).values_list("status", flat=True))
    assert statuses == ["queued"] * 4 + ["running"] * 2
    assert Run.objects.filter(agent=agent, status="queued", dispatched_at=None).count() == 4
