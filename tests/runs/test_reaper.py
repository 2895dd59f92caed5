from datetime import timedelta

from django.utils import timezone
from django_q.models import Task

from runs import services
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


def test_it_fails_a_queued_run_whose_task_ended_without_it(alice):
    run = RunFactory(
        agent=AgentFactory(organization=alice.organization),
        enqueued_at=timezone.now(), workflow_id="task-1",
    )  # fmt: skip
    Task.objects.create(
        id="task-1", name="x", func="runs.tasks.execute_run", started=timezone.now(),
        stopped=timezone.now(), success=False,
    )  # fmt: skip
    assert services.runs_reap() == 1
    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("task lost")


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
