"""Per-run call-home tokens, the broker endpoint that takes them, PUBLIC_BASE_URL, and what a
remote runtime is given (nothing of the host's secrets)."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from sandboxes import callhome, relay
from sandboxes.limits import SandboxLimits
from sandboxes.limits import SandboxStats as Stats
from sandboxes.models import RelayMessage, Sandbox
from sandboxes.services import sandbox_end
from tests.factories import RunFactory

STATS = Stats(None, None, None, None, False, False)


@pytest.fixture(autouse=True)
def db_transport(settings):
    settings.REDIS_URL = ""
    settings.RELAY_LONG_POLL_S = 0.05


def make_sandbox():
    run = RunFactory()
    return Sandbox.objects.create(
        run=run, organization=run.organization, provider="test", cpu=1, memory_mib=256
    )


@pytest.fixture
def sandbox(db) -> Sandbox:
    return make_sandbox()


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def url(sandbox: Sandbox) -> str:
    return f"/internal/runtime/v1/sandboxes/{sandbox.id}/broker"


def post(client: Client, sandbox: Sandbox, token: str | None, msg: dict, seq: int = 1):
    headers = {"X-Linc-Seq": str(seq)}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(url(sandbox), msg, content_type="application/json", headers=headers)


def issue(sandbox: Sandbox, expires_in: float = 60) -> str:
    return callhome.token_issue(sandbox=sandbox, expires_at=time.time() + expires_in)


def assert_refused(response, message: str) -> None:
    assert response.status_code == 401, response.content
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert message in error["message"]


def test_a_good_token_hands_a_message_to_the_run(client, sandbox):
    token = issue(sandbox)
    response = post(client, sandbox, token, {"type": "tool_done", "id": 1, "content": "x"})
    assert response.status_code == 204
    row = RelayMessage.objects.get(sandbox=sandbox)
    assert (row.direction, row.seq, row.body["type"]) == ("up", 1, "tool_done")


def test_it_answers_with_the_hosts_reply_or_asks_to_come_back(client, sandbox):
    token = issue(sandbox)
    pending = post(client, sandbox, token, {"type": "ready"})
    assert pending.status_code == 202 and pending.json() == {"pending": True}
    relay.DbTransport().put(sandbox.id, "down", 1, {"type": "spec", "runId": sandbox.run_id})
    again = post(client, sandbox, token, {"type": "ready"})  # the same seq, posted again
    assert again.status_code == 200
    assert again.json() == {"type": "spec", "runId": sandbox.run_id}
    assert RelayMessage.objects.filter(sandbox=sandbox, direction="up").count() == 1


def test_it_refuses_a_missing_token(client, sandbox):
    assert_refused(post(client, sandbox, None, {"type": "ready"}), "missing runtime token")


def test_it_refuses_a_tampered_token(client, sandbox):
    token = issue(sandbox)
    body, _, signature = token.rpartition(":")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    assert_refused(post(client, sandbox, f"{body}:{flipped}", {"type": "ready"}), "invalid")
    assert_refused(post(client, sandbox, "not-a-token", {"type": "ready"}), "invalid")
    assert not RelayMessage.objects.exists()


def test_it_refuses_an_expired_token(client, sandbox):
    token = issue(sandbox, expires_in=-1)
    assert_refused(post(client, sandbox, token, {"type": "ready"}), "expired")


def test_it_refuses_a_token_for_another_runs_sandbox(client, sandbox):
    other = make_sandbox()
    issue(other)
    token = issue(sandbox)
    response = post(client, other, token, {"type": "tool_done", "id": 1})
    assert_refused(response, "another sandbox")
    assert not RelayMessage.objects.filter(sandbox=other).exists()


def test_it_refuses_a_token_once_the_run_has_ended(client, sandbox):
    token = issue(sandbox)
    assert post(client, sandbox, token, {"type": "log", "text": "hi"}).status_code == 204
    sandbox_end(sandbox=sandbox, stats=STATS, notes=[], error=False)
    assert Sandbox.objects.get(id=sandbox.id).callhome_token_hash == ""
    assert_refused(post(client, sandbox, token, {"type": "log"}, seq=2), "revoked")


def test_a_new_token_revokes_the_old_one(client, sandbox):
    old = issue(sandbox)
    new = issue(sandbox)
    assert_refused(post(client, sandbox, old, {"type": "log"}), "revoked")
    assert post(client, sandbox, new, {"type": "log"}).status_code == 204


def test_closing_the_relay_revokes_its_token(client, sandbox):
    proc = relay.RelayProcess(sandbox=sandbox, limits=SandboxLimits(timeout_s=30))
    token = proc.env[callhome.TOKEN_ENV]
    assert post(client, sandbox, token, {"type": "log"}).status_code == 204
    proc.close()
    assert_refused(post(client, sandbox, token, {"type": "log"}, seq=2), "revoked")


def test_a_waiting_request_is_refused_when_the_run_ends_meanwhile(sandbox, settings):
    token = issue(sandbox)
    fresh = callhome.token_verify(token=token, sandbox_id=sandbox.id)
    callhome.token_revoke(sandbox_id=sandbox.id)
    with pytest.raises(callhome.TokenRefused, match="revoked"):
        relay.relay_post(sandbox=fresh, seq=1, msg={"type": "model"}, wait_s=5)


def test_it_answers_bad_requests_with_json_errors(client, sandbox):
    token = issue(sandbox)
    no_seq = client.post(
        url(sandbox), {"type": "ready"}, content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert no_seq.status_code == 400 and "X-Linc-Seq" in no_seq.json()["error"]["message"]
    no_type = post(client, sandbox, token, {"kind": "ready"})
    assert no_type.status_code == 400 and no_type.json()["error"]["type"] == "invalid_request"
    assert client.get(url(sandbox)).status_code == 405
    assert not RelayMessage.objects.exists()


def test_it_is_not_in_the_openapi_document(client, db):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/internal/")]


# -- what the remote runtime is given -------------------------------------------------------------

HOST_SECRETS = {
    "SECRET_KEY": "host-secret-key-0123456789abcdef",
    "ANTHROPIC_API_KEY": "sk-ant-host-secret",
    "OPENAI_API_KEY": "sk-openai-host-secret",
    "LLM_GATEWAY_API_KEY": "gateway-host-secret",
    "COURTLISTENER_API_TOKEN": "courtlistener-host-secret",
    "METRICS_TOKEN": "metrics-host-secret",
}
HOST_ENV_SECRETS = {
    "DATABASE_URL": "postgres://agentexec:db-host-secret@db.internal/agentexec",
    "VERCEL_TOKEN": "vercel-host-secret",
    "VERCEL_TEAM_ID": "team_hostsecret",
    "VERCEL_PROJECT_ID": "prj_hostsecret",
    "DAYTONA_API_KEY": "daytona-host-secret",
}


def test_the_runtime_env_holds_only_the_broker_url_and_its_token(sandbox, settings, monkeypatch):
    for name, value in HOST_SECRETS.items():
        setattr(settings, name, value)
    for name, value in HOST_ENV_SECRETS.items():
        monkeypatch.setenv(name, value)
    settings.PUBLIC_BASE_URL = "https://agents.example.com/"
    proc = relay.RelayProcess(sandbox=sandbox, limits=SandboxLimits(timeout_s=30))

    assert set(proc.env) == {"LINC_BROKER_URL", "LINC_TOKEN"}
    assert proc.env["LINC_BROKER_URL"] == (
        f"https://agents.example.com/internal/runtime/v1/sandboxes/{sandbox.id}/broker"
    )
    text = repr(proc.env)
    for value in (*HOST_SECRETS.values(), *HOST_ENV_SECRETS.values()):
        assert value not in text
    # The token is bound to this sandbox and run, and good until the run's deadline.
    verified = callhome.token_verify(token=proc.env["LINC_TOKEN"], sandbox_id=sandbox.id)
    assert verified.id == sandbox.id and verified.run_id == sandbox.run_id


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:8000", "http://localhost:9000/", "http://[::1]:80", "https://x.example"],
)
def test_public_base_url_allows_https_and_loopback_http(base):
    assert callhome.base_url_problem(base) is None


@pytest.mark.parametrize(
    "base", ["http://agents.example.com", "http://10.0.0.5:8000", "ftp://x.example", "/relative"]
)
def test_public_base_url_refuses_plain_http_elsewhere(base, settings):
    assert callhome.base_url_problem(base) is not None
    settings.PUBLIC_BASE_URL = base
    with pytest.raises(ImproperlyConfigured, match="PUBLIC_BASE_URL"):
        callhome.broker_url("sandbox_x")
    with pytest.raises(SystemCheckError, match=r"sandboxes\.E001"):
        call_command("check")
