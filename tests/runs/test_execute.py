"""POST /agent/v1/execute end to end: a real sandbox (bwrap where it works), the real runtime, the
built-in models, everything persisted."""

import json
import os
import socket
import uuid

import pytest

from runs.models import Agent, Run, RunStep, UsageEntry
from sandboxes.models import Sandbox
from tests.processes import processes_with

EXECUTE = "/agent/v1/execute"
pytestmark = pytest.mark.e2e


@pytest.fixture
def bwrap_only(settings):
    from sandboxes import services

    if services.provider().name != "bwrap":
        pytest.skip("needs the bwrap provider (namespaces and a read-only root)")


def execute(member, **body):
    response = member.client.post(EXECUTE, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def scripted(*steps, final="done"):
    return json.dumps({"steps": [{"tool": t, "input": i} for t, i in steps], "final": final})


def shell(command, **body):
    return scripted(("shell.exec", {"command": command}), final="ran", **body)


def test_an_echo_run_completes_and_is_stored(alice):
    body = execute(alice, prompt="Hello, sandbox.", model="local/echo")
    assert set(body) == {
        "runId", "agentId", "status", "provider", "runtimeId", "runtimeState",
        "output", "error", "logs", "usage", "citations", "grounding",
    }  # fmt: skip
    assert body["status"] == "completed", body
    assert body["output"] == "Hello, sandbox."
    assert body["error"] is None
    assert body["provider"] in ("bwrap", "process")
    assert body["runtimeId"].startswith("sandbox_")
    assert body["runtimeState"] == "ended"
    assert body["usage"]["model"] == "local/echo"
    assert body["usage"]["inputTokens"] > 0 and body["usage"]["outputTokens"] > 0
    assert body["usage"]["toolCalls"] == 0
    assert body["usage"]["durationMs"] is not None
    assert "runtime ready" in body["logs"]["runner"]
    assert "booted" in body["logs"]["linc"]

    run = Run.objects.get(id=body["runId"])
    assert run.organization == alice.organization and run.api_key == alice.api_key
    assert run.status == "completed" and run.completed_at is not None
    assert list(run.steps.values_list("type", flat=True)) == ["output"]
    entry = UsageEntry.objects.get(run=run)
    assert entry.kind == "llm" and entry.metadata["estimated"] is True
    sandbox = Sandbox.objects.get(id=body["runtimeId"])
    assert sandbox.run == run and sandbox.state == "ended" and sandbox.exit_code == 0
    assert sandbox.boot_ms is not None
    agent = Agent.objects.get(id=body["agentId"])
    assert agent.is_ephemeral and agent.deleted_at is not None


def test_a_scripted_run_uses_sandbox_tools_and_records_every_step(alice):
    prompt = scripted(
        ("files.write", {"path": "notes/a.txt", "content": "indemnity"}),
        ("shell.exec", {"command": "cat notes/a.txt | tr a-z A-Z"}),
        ("files.list", {"path": "notes"}),
        final="All done.",
    )
    body = execute(alice, prompt=prompt, model="local/scripted")
    assert body["status"] == "completed", body
    assert body["output"].startswith("All done.")
    assert "INDEMNITY" in body["output"]
    assert body["usage"]["toolCalls"] == 3
    steps = list(RunStep.objects.filter(run_id=body["runId"]).order_by("sequence"))
    assert [s.type for s in steps] == ["tool_call", "tool_result"] * 3 + ["output"]
    assert [s.sequence for s in steps] == list(range(1, 8))
    assert steps[2].tool_name == "shell.exec"
    assert steps[2].tool_input == {"command": "cat notes/a.txt | tr a-z A-Z"}
    assert steps[3].tool_output["exitCode"] == 0
    assert steps[3].tool_output["stdout"].strip() == "INDEMNITY"
    assert UsageEntry.objects.filter(run_id=body["runId"], kind="llm").count() == 4


def test_it_refuses_a_tool_outside_the_allow_list(alice):
    body = execute(
        alice, prompt=shell("echo hi"), model="local/scripted", enabledTools=["files.list"]
    )
    assert body["status"] == "completed"
    result = RunStep.objects.get(run_id=body["runId"], type="tool_result")
    assert result.is_error
    assert "not enabled" in result.tool_output


def test_it_refuses_a_denied_tool(alice):
    body = execute(
        alice, prompt=shell("echo hi"), model="local/scripted", disabledTools=["shell.exec"]
    )
    result = RunStep.objects.get(run_id=body["runId"], type="tool_result")
    assert result.is_error and "not enabled" in result.tool_output


def test_a_bad_script_fails_the_run_with_a_clear_error(alice):
    body = execute(alice, prompt="not json", model="local/scripted")
    assert body["status"] == "failed"
    assert "local/scripted" in body["error"] and "JSON" in body["error"]
    assert Agent.objects.get(id=body["agentId"]).deleted_at is not None


def test_the_extractive_default_runs_without_keys(alice):
    body = execute(alice, prompt="Review the NDA and list the top 5 issues.")
    assert body["usage"]["model"] == "local/extractive"
    assert body["status"] == "completed"
    assert "document" in body["output"]


# -- isolation ------------------------------------------------------------------------------


def test_the_sandbox_cannot_reach_the_hosts_loopback(alice, bwrap_only):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        probe = (
            'python3 -c "import socket; s=socket.socket(); s.settimeout(2); '
            f"print('CONNECTED' if s.connect_ex(('127.0.0.1', {port})) == 0 else 'REFUSED')\""
            # The seccomp filter refuses the AF_INET socket itself (PermissionError).
            " || echo REFUSED-no-inet-socket"
        )
        body = execute(alice, prompt=shell(probe), model="local/scripted")
    finally:
        server.close()
    assert body["provider"] == "bwrap"
    assert "REFUSED" in body["output"] and "CONNECTED" not in body["output"]


def test_the_sandbox_environment_holds_no_host_secrets(alice, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "host-secret-key-value")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-host-value")
    monkeypatch.setenv("DATABASE_URL", "postgres://secret@db/prod")
    body = execute(alice, prompt=shell("env"), model="local/scripted")
    assert body["status"] == "completed"
    for secret in ("host-secret-key-value", "sk-ant-host-value", "postgres://secret@db/prod"):
        assert secret not in body["output"]
    assert "SECRET_KEY" not in body["output"] and "API_KEY" not in body["output"]


def test_writing_outside_the_workspace_fails(alice, bwrap_only):
    name = f"agentexec-escape-{uuid.uuid4().hex}"
    body = execute(
        alice,
        prompt=shell(f"touch /usr/{name} 2>&1; echo rc=$?; touch /etc/{name} 2>&1; echo rc=$?"),
        model="local/scripted",
    )
    assert body["status"] == "completed"
    assert "rc=0" not in body["output"] and "rc=1" in body["output"]
    assert not os.path.exists(f"/usr/{name}") and not os.path.exists(f"/etc/{name}")


def test_a_process_over_the_memory_limit_fails_the_run_with_out_of_memory(alice):
    hog = 'python3 -c "b = bytearray(400 * 1024 * 1024); print(len(b))"'
    body = execute(alice, prompt=shell(hog), model="local/scripted", sandbox={"memoryMiB": 128})
    assert body["status"] == "failed", body
    assert "out of memory" in body["error"]
    assert "memoryMiB=128" in body["error"]


def test_a_command_past_the_run_timeout_is_killed_and_leaves_nothing_behind(alice, settings):
    settings.RUN_TIMEOUT_S = 2
    marker = f"{30 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000}"
    body = execute(alice, prompt=shell(f"sleep {marker}"), model="local/scripted")
    assert body["status"] == "failed"
    assert body["error"].startswith("timeout")
    assert "RUN_TIMEOUT_S=2" in body["error"]
    assert (
        Sandbox.objects.get(id=body["runtimeId"]).timed_out or "timeout" in body["logs"]["runner"]
    )
    assert not processes_with(f"sleep {marker}")


# -- reading runs back ---------------------------------------------------------------------


def test_status_and_details_read_the_stored_run(alice):
    body = execute(alice, prompt=shell("echo hi"), model="local/scripted")
    status = alice.client.get(f"/agent/v1/run/{body['runId']}/status").json()
    assert status["status"] == "completed" and status["durationMs"] is not None
    details = alice.client.get(f"/agent/v1/run/{body['runId']}/details").json()
    assert details["result"]["output"] == body["output"]
    assert [s["type"] for s in details["steps"]] == ["tool_call", "tool_result", "output"]
    assert details["usage"]["toolCalls"] == 1
    assert len(details["usage"]["entries"]) == 2


def test_a_run_of_another_organization_is_never_visible(alice, charlie):
    secret = "privileged settlement terms"  # no id of base36 characters can contain it
    body = execute(alice, prompt=secret, model="local/echo")
    for suffix in ("status", "details"):
        response = charlie.client.get(f"/agent/v1/run/{body['runId']}/{suffix}")
        assert response.status_code == 404
        assert response.json()["error"]["type"] == "not_found"
        assert secret not in response.content.decode()


def test_nul_characters_in_tool_output_are_stored_safely(alice):
    body = execute(alice, prompt=shell("printf 'a\\000b'"), model="local/scripted")
    assert body["status"] == "completed", body
    result = RunStep.objects.get(run_id=body["runId"], type="tool_result")
    assert "\x00" not in json.dumps(result.tool_output)
    assert "a\ufffdb" in result.tool_output["stdout"]
