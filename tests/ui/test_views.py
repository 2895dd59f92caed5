"""The staff run pages: the gate, every filter, pagination, review, live updates and cancel."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import timezone

from runs import views
from runs.models import CallbackDelivery, Run, Watcher
from sandboxes.models import Sandbox
from tests.factories import OrganizationFactory, make_run, make_step, make_usage


def listed(client: Client, query: str = "") -> list[str]:
    response = client.get(f"/ui/runs/?{query}")
    assert response.status_code == 200
    return [run.id for run in response.context["page"].object_list]


# --- The staff gate -------------------------------------------------------------------------

GET_PAGES = [
    "/ui/",
    "/ui/runs/",
    "/ui/runs/{run}/",
    "/ui/runs/{run}/live",
    "/ui/usage/",
    "/ui/usage/export.csv",
    "/ui/usage/export.csv?detail=1",
]


@pytest.fixture
def run(alice) -> Run:
    return make_run(organization=alice.organization, api_key=alice.api_key, status="running")


@pytest.mark.parametrize("page", GET_PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(client: Client, run: Run, page: str):
    url = page.format(run=run.id)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/ui/login/?next=")


@pytest.mark.parametrize("page", GET_PAGES)
def test_it_refuses_signed_in_users_who_are_not_staff(non_staff: Client, run: Run, page: str):
    response = non_staff.get(page.format(run=run.id))
    assert response.status_code == 403
    assert b"Staff only" in response.content


@pytest.mark.parametrize("page", GET_PAGES)
def test_it_serves_every_page_to_staff(staff: Client, run: Run, page: str):
    response = staff.get(page.format(run=run.id), follow=True)
    assert response.status_code == 200


def test_it_refuses_cancel_to_anonymous_and_non_staff(client: Client, non_staff: Client, run: Run):
    assert client.post(f"/ui/runs/{run.id}/cancel").status_code == 302
    assert non_staff.post(f"/ui/runs/{run.id}/cancel").status_code == 403
    run.refresh_from_db()
    assert run.status == "running"


def test_it_logs_staff_in_and_lands_on_the_run_list(client: Client, staff_user):
    page = client.get("/ui/login/")
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(
        "/ui/login/", {"username": "sam", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302 and response["Location"] == "/ui/runs/"
    assert client.get("/ui/runs/").status_code == 200


def test_it_rejects_a_wrong_password(client: Client, staff_user):
    response = client.post("/ui/login/", {"username": "sam", "password": "nope"})
    assert response.status_code == 200
    assert client.get("/ui/runs/").status_code == 302


# --- The run list ---------------------------------------------------------------------------


def test_it_lists_every_organizations_runs_newest_first(staff: Client, alice, charlie):
    old = make_run(organization=alice.organization, created_at=datetime(2025, 1, 1, tzinfo=UTC))
    new = make_run(organization=charlie.organization, created_at=datetime(2025, 2, 1, tzinfo=UTC))
    mid = make_run(organization=alice.organization, created_at=datetime(2025, 1, 15, tzinfo=UTC))
    assert listed(staff) == [new.id, mid.id, old.id]


def test_it_filters_by_status(staff: Client, alice):
    failed = make_run(organization=alice.organization, status="failed")
    make_run(organization=alice.organization, status="completed")
    assert listed(staff, "status=failed") == [failed.id]


def test_it_filters_by_model(staff: Client, alice):
    sonnet = make_run(organization=alice.organization, model="anthropic/claude-sonnet-4.6")
    make_run(organization=alice.organization, model="local/echo")
    assert listed(staff, "model=anthropic/claude-sonnet-4.6") == [sonnet.id]


def test_it_filters_by_organization(staff: Client, alice, charlie):
    theirs = make_run(organization=charlie.organization)
    make_run(organization=alice.organization)
    assert listed(staff, f"organization={charlie.organization.id}") == [theirs.id]


def test_it_filters_by_api_key(staff: Client, alice, bob):
    bobs = make_run(organization=alice.organization, api_key=bob.api_key)
    make_run(organization=alice.organization, api_key=alice.api_key)
    make_run(organization=alice.organization, api_key=None)
    assert listed(staff, f"api_key={bob.api_key.id}") == [bobs.id]


def test_it_filters_by_an_inclusive_date_range(staff: Client, alice):
    org = alice.organization
    make_run(organization=org, created_at=datetime(2025, 3, 9, 23, 59, tzinfo=UTC))
    first = make_run(organization=org, created_at=datetime(2025, 3, 10, 0, 0, tzinfo=UTC))
    last = make_run(organization=org, created_at=datetime(2025, 3, 12, 23, 59, tzinfo=UTC))
    make_run(organization=org, created_at=datetime(2025, 3, 13, 0, 0, tzinfo=UTC))
    assert listed(staff, "since=2025-03-10&until=2025-03-12") == [last.id, first.id]
    assert listed(staff, "since=2025-03-12")[-1] == last.id
    assert first.id in listed(staff, "until=2025-03-10")


def test_it_searches_prompt_output_and_run_id(staff: Client, alice):
    org = alice.organization
    by_prompt = make_run(organization=org, prompt="Review the INDEMNITY clause")
    by_output = make_run(organization=org, prompt="x", output="Found an indemnity cap of $1M.")
    other = make_run(organization=org, prompt="Summarise the lease", output="Rent is due monthly.")
    assert set(listed(staff, "q=indemnity")) == {by_prompt.id, by_output.id}
    assert listed(staff, f"q={other.id}") == [other.id]


def test_it_combines_filters(staff: Client, alice, charlie):
    wanted = make_run(organization=alice.organization, status="failed", model="local/extractive")
    make_run(organization=alice.organization, status="failed", model="local/echo")
    make_run(organization=charlie.organization, status="failed", model="local/extractive")
    make_run(organization=alice.organization, status="completed", model="local/extractive")
    query = f"status=failed&model=local/extractive&organization={alice.organization.id}"
    assert listed(staff, query) == [wanted.id]


def test_it_reports_a_bad_filter_value_and_still_applies_the_others(staff: Client, alice):
    failed = make_run(organization=alice.organization, status="failed")
    make_run(organization=alice.organization, status="completed")
    response = staff.get("/ui/runs/?status=failed&since=not-a-date")
    assert [r.id for r in response.context["page"].object_list] == [failed.id]
    assert b"(ignored)" in response.content


def test_it_paginates_in_pages_that_keep_the_filters(staff: Client, alice, monkeypatch):
    monkeypatch.setattr(views, "RUNS_PER_PAGE", 2)
    runs = [
        make_run(organization=alice.organization, status="completed",
                 created_at=datetime(2025, 1, day, tzinfo=UTC))
        for day in range(1, 6)
    ]  # fmt: skip
    make_run(organization=alice.organization, status="failed")
    newest_first = [r.id for r in reversed(runs)]
    assert listed(staff, "status=completed") == newest_first[:2]
    assert listed(staff, "status=completed&page=2") == newest_first[2:4]
    assert listed(staff, "status=completed&page=3") == newest_first[4:]
    page = staff.get("/ui/runs/?status=completed&page=2").content.decode()
    assert 'href="?status=completed&amp;page=3"' in page
    assert 'href="?status=completed&amp;page=1"' in page


def test_it_shows_the_columns_staff_need(staff: Client, alice):
    run = make_run(
        organization=alice.organization, api_key=alice.api_key, status="completed",
        model="local/extractive", input_tokens=1234, output_tokens=56, cost_micros=None,
        duration_ms=2500,
    )  # fmt: skip
    html = staff.get("/ui/runs/").content.decode()
    assert f'href="/ui/runs/{run.id}/"' in html
    assert 'class="badge status-completed"' in html
    for text in ["Alice &amp; Partners LLP", "alice", run.agent.name, "local/extractive",
                 "1,234", "56", "2.5 s", "unknown"]:  # fmt: skip
        assert text in html


# --- The review page ------------------------------------------------------------------------


def test_it_shows_a_runs_full_review(staff: Client, alice):
    run = make_run(
        organization=alice.organization, api_key=alice.api_key, status="completed",
        prompt="Review the NDA", instructions="Be brief.", guidance="Cite pages.",
        output="## Findings\n\n1. **Term** is 5 years", vault_ids=["vault_abc"],
        object_ids=["obj_1"], enabled_tools=["vault.search"], logs_runner="runtime ready",
        logs_linc="linc booted", final_response={"summary": "Short.", "issues": ["Term is long"]},
        provider="bwrap", runtime_id="sandbox_1",
    )  # fmt: skip
    make_step(run, 1, "tool_call", tool_name="vault.search", tool_input={"query": "term"})
    make_step(run, 2, "tool_result", tool_name="vault.search", tool_output={"hits": [1, 2]})
    make_step(run, 3, "output", content="Findings follow")
    make_usage(run, prompt_tokens=100, completion_tokens=20, cost_micros=1500)
    Sandbox.objects.create(
        run=run, organization=run.organization, provider="bwrap", state="ended", cpu=2,
        memory_mib=1024, boot_ms=42, exit_code=0, peak_memory_bytes=50 * 1024 * 1024,
    )  # fmt: skip
    html = staff.get(f"/ui/runs/{run.id}/").content.decode()
    for text in ["Review the NDA", "Be brief.", "Cite pages.", "vault_abc", "obj_1",
                 "vault.search", "<h2>Findings</h2>", "<strong>Term</strong>", "Term is long",
                 "runtime ready", "linc booted", "&quot;query&quot;: &quot;term&quot;",
                 "&quot;hits&quot;", "Findings follow", "$0.0015", "42 ms", "50.0 MiB",
                 "1024 MiB", "bwrap"]:  # fmt: skip
        assert text in html, text
    assert 'id="cancel-form"' not in html  # terminal runs are not cancellable
    assert "run_live.js" not in html


def test_it_offers_cancel_and_live_updates_while_a_run_goes(staff: Client, run: Run):
    html = staff.get(f"/ui/runs/{run.id}/").content.decode()
    assert 'id="cancel-form"' in html
    assert f'data-live-url="/ui/runs/{run.id}/live"' in html
    assert "agentexec/run_live.js" in html


def test_it_shows_a_runs_callbacks(staff: Client, alice):
    run = make_run(organization=alice.organization, status="completed")
    Watcher.objects.create(run=run, callback_url="https://hooks.example.com/<x>")
    CallbackDelivery.objects.create(
        run=run, organization=run.organization, url="https://hooks.example.com/<x>",
        webhook_id="wh_42", event_type="run.completed", payload={}, state="failed", attempts=5,
        last_status=502, last_error="Bad gateway", next_attempt_at=timezone.now(),
    )  # fmt: skip
    html = staff.get(f"/ui/runs/{run.id}/").content.decode()
    assert "https://hooks.example.com/&lt;x&gt;" in html and "<x>" not in html
    for text in ["wh_42", "run.completed", 'class="badge delivery-failed"', "502", "Bad gateway"]:
        assert text in html


def test_it_answers_404_for_an_unknown_run(staff: Client):
    assert staff.get("/ui/runs/run_nope/").status_code == 404
    assert staff.get("/ui/runs/run_nope/live").status_code == 404


def test_the_live_endpoint_returns_new_steps_status_and_logs(staff: Client, run: Run):
    make_step(run, 1, "tool_call", tool_name="shell.exec", tool_input={"command": "ls"})
    make_step(run, 2, "tool_result", tool_name="shell.exec", tool_output="a.txt")
    Run.objects.filter(id=run.id).update(logs_runner="booted", logs_linc="step 2")
    body = staff.get(f"/ui/runs/{run.id}/live?after=1").json()
    assert body["status"] == "running" and body["terminal"] is False
    assert body["lastSequence"] == 2
    assert 'data-sequence="2"' in body["steps"] and 'data-sequence="1"' not in body["steps"]
    assert "a.txt" in body["steps"]
    assert body["logs"] == {"runner": "booted", "linc": "step 2"}
    assert 'id="cancel-form"' in body["facts"]


def test_the_live_endpoint_keeps_the_sequence_when_nothing_is_new(staff: Client, run: Run):
    body = staff.get(f"/ui/runs/{run.id}/live?after=7").json()
    assert body["lastSequence"] == 7 and body["steps"].strip() == ""
    assert staff.get(f"/ui/runs/{run.id}/live?after=x").json()["lastSequence"] == 0


def test_it_cancels_a_running_run(staff: Client, run: Run):
    response = staff.post(f"/ui/runs/{run.id}/cancel", follow=True)
    assert response.redirect_chain[-1][0] == f"/ui/runs/{run.id}/"
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert f"Run {run.id} cancelled." in response.content.decode()


def test_cancelling_an_ended_run_changes_nothing(staff: Client, alice):
    run = make_run(organization=alice.organization, status="completed")
    response = staff.post(f"/ui/runs/{run.id}/cancel", follow=True)
    run.refresh_from_db()
    assert run.status == "completed"
    assert "had already ended" in response.content.decode()


def test_cancel_needs_post_and_a_csrf_token(staff_user, run: Run):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.get(f"/ui/runs/{run.id}/cancel").status_code == 405
    assert client.post(f"/ui/runs/{run.id}/cancel").status_code == 403
    run.refresh_from_db()
    assert run.status == "running"


def test_the_list_offers_every_known_organization_key_and_model(staff: Client, alice, charlie):
    make_run(organization=alice.organization, model="openai/gpt-5")
    OrganizationFactory(name="Dormant LLP")
    html = staff.get("/ui/runs/").content.decode()
    for text in ["Dormant LLP", "Charlie Legal", "openai/gpt-5", "charlie"]:
        assert text in html
