"""GET /agent/v1/models and GET /agent/v1/tools."""

from rest_framework.test import APIClient

import agentexec.tools.legal_research  # noqa: F401  (registers the legal-research tools)
from tests.conftest import Member


def test_it_requires_an_api_key(anon: APIClient, db) -> None:
    assert anon.get("/agent/v1/models").status_code == 401
    assert anon.get("/agent/v1/tools").status_code == 401


def test_it_lists_local_models_only_when_nothing_is_configured(alice: Member) -> None:
    response = alice.client.get("/agent/v1/models")

    assert response.status_code == 200
    body = response.json()
    assert body["default"] == "local/extractive"
    providers = {p["name"]: p for p in body["providers"]}
    assert providers["local"]["configured"] is True
    assert providers["anthropic"] == {
        "name": "anthropic",
        "configured": False,
        "baseUrl": "https://api.anthropic.com",
        "routes": [],
        "enabledBy": "ANTHROPIC_API_KEY",
    }
    assert providers["gateway"]["configured"] is False
    models = {m["id"]: m for m in body["models"]}
    assert models["local/extractive"]["provider"] == "local"
    assert models["local/extractive"]["pricing"] == {
        "input": 0.0,
        "output": 0.0,
        "cacheRead": 0.0,
        "cacheWrite": 0.0,
    }
    sonnet = models["anthropic/claude-sonnet-4.6"]
    assert sonnet["routable"] is False
    assert "ANTHROPIC_API_KEY" in sonnet["unavailableReason"]
    assert sonnet["pricing"]["input"] == 3.0


def test_it_shows_where_models_route_but_never_a_key(alice: Member, settings) -> None:
    settings.ANTHROPIC_API_KEY = "sk-ant-secret-0123456789"
    settings.LLM_GATEWAY_URL = "https://user:gw-password@gateway.example.test/v1?token=abc"
    settings.LLM_GATEWAY_API_KEY = "gw-secret-0123456789"

    response = alice.client.get("/agent/v1/models")

    body = response.json()
    assert body["default"] == "anthropic/claude-sonnet-4.6"
    models = {m["id"]: m for m in body["models"]}
    assert models["anthropic/claude-sonnet-4.6"]["provider"] == "anthropic"
    assert models["openai/gpt-4o"]["provider"] == "gateway"
    gateway = next(p for p in body["providers"] if p["name"] == "gateway")
    assert gateway["baseUrl"] == "https://gateway.example.test/v1"
    assert gateway["routes"] == ["*/*"]
    text = response.content.decode()
    for secret in ("sk-ant-secret", "gw-password", "gw-secret", "token=abc"):
        assert secret not in text


def test_it_lists_every_tool_with_its_schema_and_availability(
    alice: Member,
    settings,
) -> None:
    settings.COURTLISTENER_API_TOKEN = ""

    response = alice.client.get("/agent/v1/tools")

    assert response.status_code == 200
    tools = {t["name"]: t for t in response.json()["tools"]}
    search = tools["legal-research.search"]
    assert search["location"] == "host"
    assert search["available"] is False
    assert "COURTLISTENER_API_TOKEN" in search["unavailableReason"]
    assert search["inputSchema"]["required"] == ["query"]
    assert tools["legal-research.citations"]["available"] is False
    sandbox_tools = [t for t in tools.values() if t["location"] == "sandbox"]
    assert sandbox_tools
    assert all(t["available"] and t["unavailableReason"] is None for t in sandbox_tools)


def test_it_lists_legal_research_as_available_with_a_token(
    alice: Member,
    settings,
) -> None:
    settings.COURTLISTENER_API_TOKEN = "cl-token"

    tools = {t["name"]: t for t in alice.client.get("/agent/v1/tools").json()["tools"]}

    assert tools["legal-research.search"]["available"] is True
    assert tools["legal-research.search"]["unavailableReason"] is None


def test_it_gives_the_casedev_command_of_each_host_tool(alice: Member) -> None:
    tools = {t["name"]: t for t in alice.client.get("/agent/v1/tools").json()["tools"]}

    assert tools["vault.search"]["cli"].startswith("casedev vault search QUERY")
    assert tools["legal-research.citations"]["cli"].startswith("casedev legal citations")
    hosted = [t for t in tools.values() if t["location"] == "host"]
    assert all(t["cli"] for t in hosted)
    assert all(t["cli"] is None for t in tools.values() if t["location"] == "sandbox")
    assert "casedev" in tools["shell.exec"]["description"]
