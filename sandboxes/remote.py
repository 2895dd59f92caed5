"""Remote sandbox providers (Vercel Sandbox, Daytona) as the executor sees them.

A remote backend creates a machine at the provider through its official SDK, uploads the
runtime artefact into it (sandboxes.artefact: one zipapp, plus a `casedev` launcher), starts it
with the call-home variables as the only environment it adds, and follows its output as it
arrives. The runtime then reaches this server over HTTP(S) with its run's token, and the
executor serves it through the relay (sandboxes.relay) exactly as over stdio. The backend only
owns the machine's life: the relay's kill() and close() stop and delete it, whether the run
ended, failed, timed out or was cancelled; `stop_remote` does the same by id for the reaper,
when the worker that started it is gone.

Every remote sandbox is named after its Sandbox row (`sandbox_...`), so it can be found and
stopped by that name even if its provider id was never recorded.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings

from sandboxes.artefact import runtime_bytes
from sandboxes.limits import SandboxLimits
from sandboxes.models import Sandbox
from sandboxes.relay import RelayProcess
from sandboxes.remote_base import RemoteBackend, RemoteLaunch

LABEL_SANDBOX = "agentexec-sandbox"
LABEL_RUN = "agentexec-run"
RUNTIME_FILE = "runtime.pyz"
CASEDEV_FILE = "bin/casedev"
CASEDEV_LAUNCHER = b'#!/bin/sh\nexec python3 -I -S "$(dirname "$0")/../runtime.pyz" cli "$@"\n'
# Run from the sandbox's working directory: the runtime's workspace is made there, inside the
# sandbox, so the provider passes nothing but the call-home variables.
START_ARGV = [
    "sh",
    "-c",
    f'mkdir -p workspace && LINC_WORKSPACE="$PWD/workspace" exec python3 -I -S {RUNTIME_FILE}',
]


def backend_for(name: str) -> RemoteBackend:
    """The configured backend for `name` (see sandboxes.selection for what it needs)."""
    # The SDKs are imported on first use only: each costs ~0.5-1 s to import, which every
    # process (web, worker, manage.py) would pay at startup for a provider it may never use.
    if name == "vercel":
        from sandboxes.vercel import VercelBackend, VercelConfig

        return VercelBackend(
            VercelConfig(
                token=settings.VERCEL_TOKEN,
                team_id=settings.VERCEL_TEAM_ID,
                project_id=settings.VERCEL_PROJECT_ID,
                api_url=settings.VERCEL_SANDBOX_API_URL,
                image=settings.VERCEL_SANDBOX_IMAGE,
            )
        )
    if name == "daytona":
        from sandboxes.daytona import DaytonaBackend, DaytonaSettings

        return DaytonaBackend(
            DaytonaSettings(
                api_key=settings.DAYTONA_API_KEY,
                api_url=settings.DAYTONA_API_URL,
                target=settings.DAYTONA_TARGET,
                image=settings.DAYTONA_IMAGE,
            )
        )
    raise ValueError(f"{name!r} is not a remote sandbox provider")


@cache
def _runtime_artefact() -> bytes:
    """The runtime zipapp (built once per process: its sources do not change under it)."""
    return runtime_bytes()


class RemoteProvider:
    """A remote backend as a SandboxProvider: start() returns the relay the executor drives,
    attached to the remote machine (whose stop its kill() and close() bring)."""

    def __init__(self, backend: RemoteBackend) -> None:
        self.backend = backend
        self.name = backend.name

    def start(
        self, *, runtime_id: str, limits: SandboxLimits, env: dict[str, str] | None = None
    ) -> RelayProcess:
        if env:
            raise ValueError("a remote sandbox takes no extra environment")
        sandbox = Sandbox.objects.get(id=runtime_id)
        relay = RelayProcess(sandbox=sandbox, limits=limits)
        launch = RemoteLaunch(
            name=sandbox.id,
            limits=limits,
            files={RUNTIME_FILE: _runtime_artefact(), CASEDEV_FILE: CASEDEV_LAUNCHER},
            argv=START_ARGV,
            env=relay.env,
            labels={LABEL_SANDBOX: sandbox.id, LABEL_RUN: sandbox.run_id or ""},
            executable=frozenset({CASEDEV_FILE}),
        )
        try:
            machine = self.backend.launch(launch)
        except BaseException:
            relay.close()  # revokes the token it issued
            raise
        Sandbox.objects.filter(id=sandbox.id).update(remote_id=machine.id)
        relay.notes.append(f"{self.name} sandbox {machine.id}: {machine.size}")
        relay.attach(machine)
        return relay


def remote_provider(name: str) -> RemoteProvider:
    return RemoteProvider(backend_for(name))
