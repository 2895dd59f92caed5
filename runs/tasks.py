"""django-q2 tasks: thin interfaces over services."""

from runs import callbacks, services
from runs.executor import run_execute


def execute_run(run_id: str) -> str:
    run = services.run_claim(run_id=run_id)
    if run is None:  # cancelled before it started, or already claimed: never run twice
        return "skipped"
    run_execute(run)
    return "done"


def reap_runs() -> int:
    return services.runs_reap()


def deliver_callbacks() -> int:
    return callbacks.deliver_due()
