import pytest

from runs.idempotency import request_digest
from runs.models import Agent, IdempotencyRecord, Run

EXECUTE = "/agent/v1/execute"


def post(member, path, body, key):
    return member.client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_same_key_and_body_replays_the_response_and_runs_once(alice):
    body = {"prompt": "hello", "model": "local/echo"}
    first = post(alice, EXECUTE, body, "k-1")
    second = post(alice, EXECUTE, body, "k-1")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Run.objects.count() == 1


def test_the_same_key_with_another_body_is_422(alice):
    post(alice, "/agent/v1/agents", {"name": "a", "instructions": "x"}, "k-2")
    response = post(alice, "/agent/v1/agents", {"name": "b", "instructions": "x"}, "k-2")
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "idempotency_mismatch"
    assert Agent.objects.count() == 1


def test_the_same_key_while_in_flight_is_409(alice):
    IdempotencyRecord.objects.create(
        organization=alice.organization, key="k-3", path=EXECUTE, request_hash="x" * 64
    )
    record = IdempotencyRecord.objects.get(key="k-3")

    class Fake:  # the same body as the request below
        data = {"prompt": "hi"}

    record.request_hash = request_digest(Fake())  # type: ignore[arg-type]
    record.save()
    response = post(alice, EXECUTE, {"prompt": "hi"}, "k-3")
    assert response.status_code == 409
    assert not Run.objects.exists()


def test_keys_are_per_organization(alice, charlie):
    body = {"prompt": "hello", "model": "local/echo"}
    a = post(alice, EXECUTE, body, "shared")
    c = post(charlie, EXECUTE, body, "shared")
    assert a.json()["runId"] != c.json()["runId"]


def test_a_rejected_request_can_be_retried_with_the_same_key(alice):
    assert post(alice, EXECUTE, {"prompt": ""}, "k-4").status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k-4").exists()


def test_expired_keys_are_forgotten(alice, settings):
    settings.IDEMPOTENCY_TTL_H = 0
    body = {"prompt": "hello", "model": "local/echo"}
    post(alice, EXECUTE, body, "k-5")
    post(alice, EXECUTE, body, "k-5")
    assert Run.objects.count() == 2


@pytest.mark.parametrize("path", ["/agent/v1/run"])
def test_run_create_is_idempotent_too(alice, path):
    from tests.factories import AgentFactory

    agent = AgentFactory(organization=alice.organization)
    body = {"agentId": agent.id, "prompt": "go"}
    assert post(alice, path, body, "k-6").json() == post(alice, path, body, "k-6").json()
    assert Run.objects.count() == 1
