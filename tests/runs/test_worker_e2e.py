"""The run lifecycle with a real `manage.py qcluster` process (ORM broker) and the live test
server sharing one database, driven through the official casedev SDK."""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import casedev
import httpx
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django_q.conf import Conf
from standardwebhooks.webhooks import Webhook

from runs import services
from runs.models import Run, RunEvent, RunStep
from sandboxes.models import Sandbox
from tests.factories import AgentFactory
from tests.processes import processes_with
from tests.runs.test_callbacks import Receiver

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Cluster:
    def __init__(self, **env: str) -> None:
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "agentexec.settings",
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(django_settings.MEDIA_ROOT),
            "ALLOW_SCRIPTED_MODEL": "1",
            "ALLOW_INSECURE_CALLBACKS": "1",
            "CALLBACK_BACKOFF_BASE_S": "0.2",
            "Q_WORKERS": "1",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> "Cluster":
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "qcluster"],
            env=self.env, cwd=ROOT, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def worker_mode(monkeypatch, settings):
    """This process enqueues onto the database broker instead of running tasks inline."""
    monkeypatch.setattr(Conf, "SYNC", False)
    settings.ALLOW_INSECURE_CALLBACKS = True


@pytest.fixture
def cluster(transactional_db, worker_mode):
    started: list[Cluster] = []

    def make(**env: str) -> Cluster:
        started.append(Cluster(**env).start())
        return started[-1]

    yield make
    for c in started:
        c.kill(signal.SIGTERM)


@pytest.fixture
def sdk(live_server, alice):
    # Closed at the end: an idle keep-alive connection would pin a live-server thread and its
    # database connection, and PostgreSQL then refuses to drop the test database.
    with casedev.Casedev(api_key=alice.raw_key, base_url=live_server.url, max_retries=0) as client:
        yield client


def wait_for(predicate, timeout=30.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting")


def script(*commands: str, final: str = "done") -> str:
    steps = [{"tool": "shell.exec", "input": {"command": c}} for c in commands]
    return json.dumps({"steps": steps, "final": final})


def test_the_whole_lifecycle_through_the_sdk(cluster, sdk, alice, live_server):
    cluster()
    hook = Receiver([])
    try:
        agent = sdk.agent.v1.agents.create(
            name="Reviewer", instructions="Review.", model="local/scripted",
            enabled_tools=["shell.exec"],
        )  # fmt: skip
        assert sdk.agent.v1.agents.retrieve(agent.id).name == "Reviewer"
        sdk.agent.v1.agents.update(agent.id, description="updated")
        assert any(a.id == agent.id for a in sdk.agent.v1.agents.list().agents)

        run = sdk.agent.v1.run.create(agent_id=agent.id, prompt=script("echo lifecycle"))
        assert run.status == "queued"
        assert sdk.agent.v1.run.watch(run.id, callback_url=hook.url).ok
        started = sdk.agent.v1.run.exec(run.id)
        assert started.status == "running" and started.workflow_id
        wait_for(lambda: sdk.agent.v1.run.get_status(run.id).status == "completed")
        details = sdk.agent.v1.run.get_details(run.id)
        assert [s.type for s in details.steps] == ["tool_call", "tool_result", "output"]
        assert "lifecycle" in details.result.output
        assert details.usage.tool_calls == 1 and len(details.usage.entries) == 2

        headers, body = wait_for(lambda: hook.requests and hook.requests[0])
        assert (
            Webhook(alice.organization.webhook_secret).verify(body, headers)["type"]
            == "run.completed"
        )

        legacy = httpx.post(
            f"{live_server.url}/agent/v1/execute",
            json={"prompt": "legacy", "model": "local/echo", "agentRuntime": True},
            headers={"Authorization": f"Bearer {alice.raw_key}"},
        ).json()
        assert legacy["status"] == "running"
        wait_for(lambda: sdk.agent.v1.run.get_status(legacy["runId"]).status == "completed")
        assert sdk.agent.v1.run.get_details(legacy["runId"]).result.output == "legacy"

        page = sdk.agent.v1.run.list(limit=1)
        assert page.has_more and page.runs[0].id == legacy["runId"]
        rest = sdk.agent.v1.run.list(limit=1, cursor=page.next_cursor)
        assert rest.runs[0].id == run.id and not rest.has_more
        assert sdk.agent.v1.run.cancel(run.id).status == "completed"
        assert sdk.agent.v1.agents.delete(agent.id).ok
    finally:
        hook.close()


def test_cancel_stops_a_running_run_within_two_seconds(cluster, sdk, alice):
    cluster()
    hook = Receiver([])
    marker = f"{60 + uuid.uuid4().int % 100}.{uuid.uuid4().int % 997}"
    try:
        agent = sdk.agent.v1.agents.create(name="Sleeper", instructions="x", model="local/scripted")
        run = sdk.agent.v1.run.create(
            agent_id=agent.id, prompt=script(f"sleep {marker}"), callback_url=hook.url
        )
        sdk.agent.v1.run.exec(run.id)
        wait_for(lambda: processes_with(f"sleep {marker}"))
        t0 = time.monotonic()
        assert sdk.agent.v1.run.cancel(run.id).status == "cancelled"
        wait_for(lambda: not processes_with(f"sleep {marker}"), timeout=2.0, interval=0.02)
        assert sdk.agent.v1.run.get_status(run.id).status == "cancelled"
        assert time.monotonic() - t0 < 2.0
        wait_for(lambda: hook.requests)
        time.sleep(1.5)  # the executor has finished its bookkeeping by now
        assert [json.loads(b)["type"] for _, b in hook.requests] == ["run.cancelled"]
        assert Run.objects.get(id=run.id).status == "cancelled"
    finally:
        hook.close()


def test_a_killed_worker_fails_its_run_and_it_never_runs_twice(cluster, sdk, settings):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 3
    first = cluster()
    marker = f"{70 + uuid.uuid4().int % 100}.{uuid.uuid4().int % 991}"
    agent = sdk.agent.v1.agents.create(name="Victim", instructions="x", model="local/scripted")
    run = sdk.agent.v1.run.create(agent_id=agent.id, prompt=script(f"sleep {marker}"))
    sdk.agent.v1.run.exec(run.id)
    wait_for(lambda: processes_with(f"sleep {marker}"))
    first.kill(signal.SIGKILL)
    cluster()
    status = wait_for(
        lambda: (s := sdk.agent.v1.run.get_status(run.id)).status != "running" and s, timeout=15
    )
    assert status.status == "failed"
    assert Run.objects.get(id=run.id).error.startswith("worker lost")
    wait_for(lambda: not processes_with(f"sleep {marker}"), timeout=5)
    time.sleep(3)  # give the new worker every chance to (wrongly) run it again
    assert Sandbox.objects.filter(run_id=run.id).count() == 1
    assert RunStep.objects.filter(run_id=run.id, type="tool_call").count() == 1


def test_runs_of_a_killed_cluster_recover_within_a_heartbeat_window_and_none_runs_twice(
    cluster, alice, settings
):
    """kill -9 of every process of the cluster with ten runs handed over: after a restart,
    the runs it was executing fail ("worker lost"), the ones it had fetched but not started
    are handed over again, and the rest are served as usual, all within
    RUN_HEARTBEAT_TIMEOUT_S + 60 s of the kill, and no run is executed twice."""
    settings.RUN_HEARTBEAT_TIMEOUT_S = 5
    env = {"RUN_HEARTBEAT_TIMEOUT_S": "5", "RUN_REAPER_INTERVAL_S": "1", "Q_WORKERS": "2"}
    first = cluster(**env)
    marker = f"{3 + uuid.uuid4().int % 100 / 1000:.3f}"  # sleep 3.0xx: ours alone
    agent = AgentFactory(organization=alice.organization, model="local/scripted")
    prompts = [script(f"sleep {marker}")] * 4 + [script("echo quick")] * 6
    runs = [
        services.run_create(api_key=alice.api_key, agent=agent, prompt=prompt) for prompt in prompts
    ]
    for run in runs:
        services.run_enqueue(run=run)
    # Both workers are inside a sleeping run, whose shell.exec the host has recorded (the
    # runtime starts the command as it reports it: the process can win the race with the
    # step); the cluster holds more tasks it has not started.
    sleeping = RunStep.objects.filter(run__in=runs[:4], type="tool_call")
    wait_for(
        lambda: len(processes_with(f"sleep {marker}")) >= 2 and sleeping.count() >= 2, timeout=30
    )
    first.kill(signal.SIGKILL)
    killed_at = time.monotonic()
    cluster(**env)

    def settled() -> bool:
        return not Run.objects.filter(id__in=[r.id for r in runs], status="queued").exists()

    wait_for(settled, timeout=settings.RUN_HEARTBEAT_TIMEOUT_S + 60)
    assert time.monotonic() - killed_at < settings.RUN_HEARTBEAT_TIMEOUT_S + 60
    ids = [r.id for r in runs]
    wait_for(lambda: not Run.objects.filter(id__in=ids, status="running").exists(), timeout=30)
    time.sleep(2)  # any duplicate task still in flight has had time to (wrongly) start a run

    outcome = {r.id: r for r in Run.objects.filter(id__in=ids)}
    lost = [r for r in outcome.values() if r.status == "failed"]
    assert len(lost) == 2 and all(r.error.startswith("worker lost") for r in lost)
    assert sum(r.status == "completed" for r in outcome.values()) == 8
    assert any(r.dispatch_count > 1 for r in outcome.values())  # handed over again
    for run_id in ids:
        assert Sandbox.objects.filter(run_id=run_id).count() == 1
        assert RunStep.objects.filter(run_id=run_id, type="tool_call").count() == 1
        assert RunEvent.objects.filter(run_id=run_id, type="run.running").count() == 1
