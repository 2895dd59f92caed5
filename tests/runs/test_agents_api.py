import pytest

from runs.models import Agent, Run
from tests.factories import AgentFactory, RunFactory

AGENTS = "/agent/v1/agents"


def create(member, **body):
    body = {"name": "NDA reviewer", "instructions": "Review NDAs.", **body}
    return member.client.post(AGENTS, body, format="json")


def test_it_creates_an_agent(alice):
    response = create(alice, model="local/echo", enabledTools=["shell.exec"], sandbox={"cpu": 2})
    assert response.status_code == 201
    body = response.json()
    assert body["id"].startswith("agent_")
    assert body["enabledTools"] == ["shell.exec"] and body["disabledTools"] is None
    assert body["sandbox"] == {"cpu": 2, "memoryMiB": None}
    agent = Agent.objects.get(id=body["id"])
    assert agent.organization == alice.organization and not agent.is_ephemeral


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"instructions": 3}, "instructions"),
        ({"enabledTools": ["nope"]}, "enabledTools"),
        ({"enabledTools": ["shell.exec"], "disabledTools": ["files.read"]}, "enabledTools"),
        ({"sandbox": {"memoryMiB": 1}}, "sandbox.memoryMiB"),
        ({"model": "unknown/x"}, "model"),
    ],
)
def test_it_validates_agents_like_execute(alice, body, field):
    response = create(alice, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Agent.objects.exists()


def test_it_lists_agents_newest_first_with_a_cursor(alice):
    ids = [create(alice, name=f"agent {i}").json()["id"] for i in range(5)]
    AgentFactory(organization=alice.organization, is_ephemeral=True)  # never listed
    first = alice.client.get(AGENTS, {"limit": 2}).json()
    assert [a["id"] for a in first["agents"]] == ids[::-1][:2]
    assert first["hasMore"] is True
    second = alice.client.get(AGENTS, {"limit": 2, "cursor": first["nextCursor"]}).json()
    third = alice.client.get(AGENTS, {"limit": 2, "cursor": second["nextCursor"]}).json()
    assert [a["id"] for a in second["agents"] + third["agents"]] == ids[::-1][2:]
    assert third["hasMore"] is False and third["nextCursor"] is None


@pytest.mark.parametrize(
    "query", [{"limit": 0}, {"limit": 251}, {"limit": "x"}, {"cursor": "agent_nope"}]
)
def test_it_rejects_bad_list_parameters(alice, query):
    response = alice.client.get(AGENTS, query)
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) & {"limit", "cursor"}


def test_it_updates_only_the_fields_given(alice):
    agent_id = create(alice, description="old", disabledTools=["shell.exec"]).json()["id"]
    response = alice.client.patch(
        f"{AGENTS}/{agent_id}", {"name": "Renamed", "enabledTools": ["files.read"]}, format="json"
    )
    assert response.status_code == 200, response.content
    agent = Agent.objects.get(id=agent_id)
    assert agent.name == "Renamed" and agent.description == "old"
    assert agent.enabled_tools == ["files.read"] and agent.disabled_tools is None


def test_it_soft_deletes_and_keeps_the_runs(alice):
    agent = AgentFactory(organization=alice.organization)
    run = RunFactory(agent=agent)
    assert alice.client.delete(f"{AGENTS}/{agent.id}").json() == {"ok": True}
    assert alice.client.get(f"{AGENTS}/{agent.id}").status_code == 404
    assert Run.objects.get(id=run.id).agent_id == agent.id
    assert Agent.objects.get(id=agent.id).deleted_at is not None


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_it_checks_ownership(alice, charlie, method):
    agent = AgentFactory(organization=alice.organization)
    response = getattr(charlie.client, method)(f"{AGENTS}/{agent.id}", {}, format="json")
    assert response.status_code == 404
    assert Agent.objects.get(id=agent.id).deleted_at is None


def test_bob_shares_alices_agents(alice, bob):
    agent = AgentFactory(organization=alice.organization)
    assert bob.client.get(f"{AGENTS}/{agent.id}").status_code == 200
