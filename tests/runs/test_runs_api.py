import json

import pytest

from runs import services
from runs.models import Agent, Run, RunEvent
from tests.factories import AgentFactory, RunFactory

RUNS = "/agent/v1/run"


@pytest.fixture
def agent(alice):
    return AgentFactory(organization=alice.organization, model="local/scripted")


def create_run(member, agent, **body):
    response = member.client.post(
        RUNS, {"agentId": agent.id, "prompt": "hi", **body}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def test_it_creates_a_queued_run_with_the_agents_settings(alice, agent):
    body = create_run(alice, agent, guidance="be brief")
    assert body["status"] == "queued" and body["agentId"] == agent.id
    run = Run.objects.get(id=body["id"])
    assert run.model == "local/scripted" and run.guidance == "be brief"
    assert run.api_key == alice.api_key
    assert list(run.events.values_list("type", flat=True)) == ["run.queued"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agentId": "agent_nope"}, "agentId"),
        ({"prompt": ""}, "prompt"),
        ({"model": "nope/x"}, "model"),
        ({"callbackUrl": "http://example.com/hook"}, "callbackUrl"),
        ({"objectIds": "obj_1"}, "objectIds"),
    ],
)
def test_it_rejects_a_bad_run(alice, agent, body, field):
    response = alice.client.post(RUNS, {"agentId": agent.id, "prompt": "hi", **body}, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Run.objects.exists()


def test_it_refuses_another_organizations_agent(charlie, agent):
    response = charlie.client.post(RUNS, {"agentId": agent.id, "prompt": "hi"}, format="json")
    assert response.status_code == 400
    assert "agentId" in response.json()["error"]["fields"]


def test_exec_runs_it_on_the_worker(alice, agent, django_capture_on_commit_callbacks):
    prompt = json.dumps(
        {"steps": [{"tool": "shell.exec", "input": {"command": "echo hi"}}], "final": "ok"}
    )
    run_id = create_run(alice, agent, prompt=prompt)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.post(f"{RUNS}/{run_id}/exec")
    assert response.status_code == 200
    assert response.json()["status"] == "running"
    status = alice.client.get(f"{RUNS}/{run_id}/status").json()
    assert status["status"] == "completed"
    details = alice.client.get(f"{RUNS}/{run_id}/details").json()
    assert details["workflowId"]
    assert [s["type"] for s in details["steps"]] == ["tool_call", "tool_result", "output"]
    types = list(RunEvent.objects.filter(run_id=run_id).values_list("type", flat=True))
    assert types == ["run.queued", "run.running"] + ["run.step"] * 3 + ["run.completed"]
    assert Agent.objects.get(id=agent.id).deleted_at is None  # persistent agents stay


def test_exec_twice_is_a_conflict(alice, agent, django_capture_on_commit_callbacks):
    run_id = create_run(alice, agent, prompt='{"steps": [], "final": "x"}')["id"]
    with django_capture_on_commit_callbacks(execute=True):
        alice.client.post(f"{RUNS}/{run_id}/exec")
    response = alice.client.post(f"{RUNS}/{run_id}/exec")
    assert response.status_code == 409
    assert Run.objects.get(id=run_id).sandboxes.count() == 1


def test_a_cancelled_queued_run_never_starts(alice, agent, django_capture_on_commit_callbacks):
    run_id = create_run(alice, agent)["id"]
    response = alice.client.post(f"{RUNS}/{run_id}/cancel")
    assert response.json() == {"id": run_id, "status": "cancelled", "message": "Run cancelled."}
    with django_capture_on_commit_callbacks(execute=True):
        assert alice.client.post(f"{RUNS}/{run_id}/exec").status_code == 409
    from runs.tasks import execute_run

    assert execute_run(run_id) == "skipped"
    run = Run.objects.get(id=run_id)
    assert run.status == "cancelled" and run.started_at is None and not run.sandboxes.exists()


def test_cancel_is_idempotent_on_a_finished_run(alice, agent):
    run = RunFactory(agent=agent, status="completed")
    response = alice.client.post(f"{RUNS}/{run.id}/cancel")
    assert response.json() == {
        "id": run.id,
        "status": "completed",
        "message": "Run already completed.",
    }


def test_legacy_execute_queues_and_answers_at_once(
    alice, django_capture_on_commit_callbacks, monkeypatch
):
    enqueued = []
    monkeypatch.setattr(services, "_dispatch", enqueued.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.post(
            "/agent/v1/execute",
            {"prompt": "hi", "model": "local/echo", "agentRuntime": True},
            format="json",
        )
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "running" and body["runtimeState"] == "running"
    assert f"/agent/v1/run/{body['runId']}/status" in body["message"]
    assert enqueued == [body["runId"]]
    assert Run.objects.get(id=body["runId"]).status == "queued"


def test_it_lists_runs_with_filters_and_a_cursor(alice, agent):
    other = AgentFactory(organization=alice.organization)
    mine = [RunFactory(agent=agent, prompt="p" * 300) for _ in range(3)]
    RunFactory(agent=other)
    RunFactory(agent=agent, status="failed")
    page = alice.client.get(RUNS, {"agentId": agent.id, "status": "queued", "limit": 2}).json()
    assert [r["id"] for r in page["runs"]] == [r.id for r in mine[::-1][:2]]
    assert len(page["runs"][0]["prompt"]) == 200
    rest = alice.client.get(
        RUNS, {"agentId": agent.id, "status": "queued", "cursor": page["nextCursor"]}
    ).json()
    assert [r["id"] for r in rest["runs"]] == [mine[0].id] and rest["hasMore"] is False


def test_it_rejects_an_unknown_status_filter(alice):
    response = alice.client.get(RUNS, {"status": "sleeping"})
    assert response.status_code == 400 and "status" in response.json()["error"]["fields"]


def test_watch_registers_a_callback(alice, agent, settings):
    settings.ALLOW_INSECURE_CALLBACKS = True
    run = RunFactory(agent=agent)
    response = alice.client.post(
        f"{RUNS}/{run.id}/watch", {"callbackUrl": "http://127.0.0.1:9/hook"}, format="json"
    )
    assert response.json() == {"ok": True, "callbackUrl": "http://127.0.0.1:9/hook"}
    assert run.watchers.count() == 1


def test_watch_refuses_a_private_callback(alice, agent):
    run = RunFactory(agent=agent)
    response = alice.client.post(
        f"{RUNS}/{run.id}/watch", {"callbackUrl": "https://10.0.0.1/x"}, format="json"
    )
    assert response.status_code == 400 and "callbackUrl" in response.json()["error"]["fields"]


ID_ENDPOINTS = [
    ("get", "status"), ("get", "details"), ("post", "exec"), ("post", "cancel"),
    ("post", "watch"), ("get", "events"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "suffix"), ID_ENDPOINTS)
def test_every_run_endpoint_checks_ownership(alice, charlie, agent, method, suffix):
    run = RunFactory(agent=agent)
    response = getattr(charlie.client, method)(
        f"{RUNS}/{run.id}/{suffix}", {"callbackUrl": "https://example.com/x"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"
    run.refresh_from_db()
    assert run.status == "queued" and run.enqueued_at is None and not run.watchers.exists()


@pytest.mark.parametrize(("method", "suffix"), ID_ENDPOINTS)
def test_an_unknown_run_is_not_found(alice, method, suffix):
    response = getattr(alice.client, method)(f"{RUNS}/run_nope/{suffix}", {}, format="json")
    assert response.status_code == 404


def test_a_run_the_broker_refuses_fails_at_once(
    alice, agent, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(*args, **kwargs):
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(services, "async_task", broken)
    run_id = create_run(alice, agent)["id"]
    with django_capture_on_commit_callbacks(execute=True):
        response = alice.client.post(f"{RUNS}/{run_id}/exec")
    assert response.status_code == 200
    run = Run.objects.get(id=run_id)
    assert run.status == "failed" and "broker unreachable" in run.error
