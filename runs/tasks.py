"""django-q2 tasks: thin interfaces over services. Also the reaper loop every worker process
runs beside its tasks."""

import logging
import os
import random
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django_q.conf import Conf

from runs import callbacks, services
from runs.executor import run_execute

log = logging.getLogger(__name__)
_reaper_pid: int | None = None  # the process whose reaper thread is running
reaper_stop = threading.Event()  # set only by tests


def execute_run(run_id: str) -> str:
    run = services.run_claim(run_id=run_id)
    if run is None:  # not queued any more, or waiting for a slot: never run twice
        return "skipped"
    run_execute(run, queued=True)
    return "done"


def reap_runs() -> int:
    return services.runs_reap()


def deliver_callbacks() -> int:
    return callbacks.deliver_due()


def start_reaper(**kwargs: Any) -> None:
    """django-q2's post_spawn: each worker process sweeps for lost runs when it starts and then
    every RUN_REAPER_INTERVAL_S, in a daemon thread. A schedule alone would not do: django-q2
    checks schedules every 30 s at best and in whole minutes, and a cluster restarted after a
    crash must find the runs its predecessor lost within seconds. Every sweep is safe to run
    from many processes at once: each change it makes is a compare-and-set."""
    global _reaper_pid
    # With sync=True (tests) django-q2 "spawns" a worker in the calling process for every task.
    if settings.RUN_REAPER_INTERVAL_S <= 0 or Conf.SYNC or _reaper_pid == os.getpid():
        return
    _reaper_pid = os.getpid()
    threading.Thread(target=_reaper_loop, name="run-reaper", daemon=True).start()


def _reaper_loop() -> None:
    while not reaper_stop.is_set():
        try:
            close_old_connections()
            services.runs_reap()
        except Exception:
            log.exception("the run reaper failed; trying again at the next sweep")
        # Jitter keeps the workers of a cluster from sweeping in lockstep.
        reaper_stop.wait(settings.RUN_REAPER_INTERVAL_S * random.uniform(0.8, 1.2))
