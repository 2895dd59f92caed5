"""Sandbox rows: killing a run's sandboxes on this host, and marking a lost run's as ended."""

from __future__ import annotations

import pytest

from runs.models import Run
from sandboxes import services
from sandboxes.models import Sandbox, SandboxState
from tests.factories import RunFactory
from tests.sandboxes.booting import boot, request_shell, send_spec


def sandbox_row(run: Run, **fields: object) -> Sandbox:
    sandbox = services.sandbox_create(run=run, provider_name="process")
    Sandbox.objects.filter(id=sandbox.id).update(**fields)
    sandbox.refresh_from_db()
    return sandbox


@pytest.mark.e2e
@pytest.mark.django_db
def test_it_kills_a_runs_live_sandbox_on_this_host(opened):
    run = RunFactory()
    proc = boot("process", opened)
    send_spec(proc)
    request_shell(proc, "sleep 30")
    sandbox_row(run, pid=proc.pid, state=SandboxState.RUNNING)
    services.sandboxes_kill_local(run_id=run.id)
    assert proc.recv(10) is None  # EOF: the runtime was killed under the reader


@pytest.mark.e2e
@pytest.mark.django_db
def test_it_leaves_sandboxes_of_other_hosts_runs_and_ended_rows_alone(opened):
    run, other_run = RunFactory(), RunFactory()
    proc = boot("process", opened)
    sandbox_row(run, pid=proc.pid, state=SandboxState.RUNNING, hostname="another-host")
    sandbox_row(run, pid=proc.pid, state=SandboxState.ENDED)
    sandbox_row(other_run, pid=proc.pid, state=SandboxState.RUNNING)
    services.sandboxes_kill_local(run_id=run.id)
    assert proc.wait(0.2) is None  # still running


@pytest.mark.django_db
def test_a_lost_runs_live_sandboxes_are_marked_as_errors():
    run, other_run = RunFactory(), RunFactory()
    booting = sandbox_row(run, state=SandboxState.BOOTING)
    ended = sandbox_row(run, state=SandboxState.ENDED)
    elsewhere = sandbox_row(other_run, state=SandboxState.RUNNING)
    services.sandboxes_mark_lost(run_id=run.id)
    booting.refresh_from_db()
    assert booting.state == SandboxState.ERROR and booting.ended_at is not None
    assert Sandbox.objects.get(id=ended.id).state == SandboxState.ENDED
    assert Sandbox.objects.get(id=elsewhere.id).state == SandboxState.RUNNING
