import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Task

from runs import services, tasks
from runs.models import Run
from tests.factories import AgentFactory, RunFactory


def stale_running_run(alice, seconds):
    run = RunFactory(agent=AgentFactory(organization=alice.organization), status="running")
    Run.objects.filter(id=run.id).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))
    return run


def test_it_fails_a_run_whose_heartbeat_stopped(alice, settings):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    lost, alive = stale_running_run(alice, 31), stale_running_run(alice, 5)
    assert services.runs_reap() == 1
    lost.refresh_from_db()
    alive.refresh_from_db()
    assert lost.status == "failed" and lost.error.startswith("worker lost")
    assert alive.status == "running"
    assert list(lost.events.values_list("type", flat=True)) == ["run.failed"]


def test_reading_a_lost_run_fails_it_at_once(alice, settings):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    run = stale_running_run(alice, 60)
    status = alice.client.get(f"/agent/v1/run/{run.id}/status").json()
    assert status["status"] == "failed"


def handed_over_run(alice, seconds_ago, **fields):
    at = timezone.now() - timedelta(seconds=seconds_ago)
    return RunFactory(
        agent=AgentFactory(organization=alice.organization),
        enqueued_at=at, dispatched_at=at, dispatch_count=1, **fields,
    )  # fmt: skip


@pytest.fixture
def dispatched(monkeypatch):
    """The tasks queued on the broker, by run id (instead of running them inline)."""
    queued: list[str] = []
    monkeypatch.setattr(services, "async_task", lambda func, run_id, **kw: queued.append(run_id))
    return queued


def test_it_hands_a_run_over_again_when_its_task_was_lost(alice, settings, dispatched):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    lost, fresh = handed_over_run(alice, 31), handed_over_run(alice, 5)
    assert services.runs_reap() == 1
    assert dispatched == [lost.id]
    lost.refresh_from_db()
    assert lost.status == "queued" and lost.dispatch_count == 2
    assert (timezone.now() - lost.dispatched_at).total_seconds() < 5
    assert services.runs_reap() == 0  # one new task per window, not one per sweep
    assert dispatched == [lost.id]
    fresh.refresh_from_db()
    assert fresh.dispatch_count == 1


def test_a_task_that_ended_without_starting_its_run_gets_a_successor(alice, settings, dispatched):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    run = handed_over_run(alice, 31, workflow_id="task-1")
    Task.objects.create(
        id="task-1", name="x", func="runs.tasks.execute_run", started=timezone.now(),
        stopped=timezone.now(), success=False,
    )  # fmt: skip
    assert services.runs_reap() == 1
    run.refresh_from_db()
    assert run.status == "queued" and dispatched == [run.id]


def test_a_run_whose_task_still_waits_in_the_broker_is_left_in_line(alice, settings, dispatched):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    run = handed_over_run(alice, 300)
    waiting = OrmQ.objects.create(  # untaken since it was queued, as the run's own task would be
        key=Conf.CLUSTER_NAME, payload="an older task", lock=run.dispatched_at
    )
    assert services.runs_reap() == 0
    run.refresh_from_db()
    assert run.status == "queued" and run.dispatch_count == 1 and dispatched == []
    waiting.delete()
    assert services.runs_reap() == 1 and dispatched == [run.id]


def test_a_backlog_of_newer_tasks_does_not_hold_back_a_lost_one(alice, settings, dispatched):
    settings.RUN_HEARTBEAT_TIMEOUT_S = 30
    run = handed_over_run(alice, 300)
    for _ in range(3):
        OrmQ.objects.create(key=Conf.CLUSTER_NAME, payload="newer work", lock=timezone.now())
    OrmQ.objects.create(  # the lost task: taken by a cluster that died, locked for minutes
        key=Conf.CLUSTER_NAME, payload="lost", lock=timezone.now() + timedelta(minutes=7)
    )
    assert services.runs_reap() == 1 and dispatched == [run.id]


def test_a_redispatched_copy_of_a_started_run_does_nothing(alice):
    run = handed_over_run(alice, 0, status="running", heartbeat_at=timezone.now())
    assert tasks.execute_run(run.id) == "skipped"
    run.refresh_from_db()
    assert run.status == "running" and not run.steps.exists()


def test_it_leaves_queued_runs_that_were_never_handed_over(alice, settings):
    settings.RUN_QUEUE_TIMEOUT_S = 0
    run = RunFactory(agent=AgentFactory(organization=alice.organization))
    assert services.runs_reap() == 0
    run.refresh_from_db()
    assert run.status == "queued"


def test_it_fails_handed_over_runs_that_never_started(alice, settings):
    settings.RUN_QUEUE_TIMEOUT_S = 60
    run = RunFactory(
        agent=AgentFactory(organization=alice.organization),
        enqueued_at=timezone.now() - timedelta(seconds=61),
    )
    assert services.runs_reap() == 1
    run.refresh_from_db()
    assert "RUN_QUEUE_TIMEOUT_S" in run.error


def test_the_scheduled_jobs_are_installed(db):
    from django_q.models import Schedule

    funcs = set(Schedule.objects.values_list("func", flat=True))
    assert {"runs.tasks.reap_runs", "runs.tasks.deliver_callbacks"} <= funcs


def test_a_worker_process_sweeps_at_start_and_then_every_interval(settings, monkeypatch):
    settings.RUN_REAPER_INTERVAL_S = 0.05
    monkeypatch.setattr(Conf, "SYNC", False)  # as in a real worker process
    monkeypatch.setattr(tasks, "_reaper_pid", None)
    sweeps = threading.Semaphore(0)
    monkeypatch.setattr(services, "runs_reap", sweeps.release)
    tasks.reaper_stop.clear()
    try:
        tasks.start_reaper(proc_name="Worker-1")
        tasks.start_reaper(proc_name="Worker-1")  # once per process, however often it is told
        assert all(sweeps.acquire(timeout=5) for _ in range(3))
        assert [t.name for t in threading.enumerate()].count("run-reaper") == 1
    finally:
        tasks.reaper_stop.set()
    deadline = time.monotonic() + 5
    while any(t.name == "run-reaper" for t in threading.enumerate()):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_no_sweeper_runs_in_processes_that_run_tasks_inline(settings, monkeypatch):
    monkeypatch.setattr(tasks, "_reaper_pid", None)
    tasks.start_reaper(proc_name="MainProcess")  # Conf.SYNC is on in the tests
    assert "run-reaper" not in [t.name for t in threading.enumerate()]
