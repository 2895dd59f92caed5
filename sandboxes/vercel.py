"""Vercel Sandbox through the official SDK (`vercel-sandbox`, imported as `vercel.sandbox`).

Configured by VERCEL_TOKEN, VERCEL_TEAM_ID and VERCEL_PROJECT_ID (an access token scoped to the
team, and the project the sandboxes are billed to); VERCEL_SANDBOX_API_URL overrides the API's
base URL (the SDK reads no variable for it: it goes to SandboxServiceOptions), for proxies and
tests. Sizes: Vercel gives 2048 MB of memory per vCPU and takes 2, 4 or 8 vCPUs, so a request is
given the smallest of those that is not smaller in either CPU or memory:

    request (cpu, memoryMiB)          vcpus   memory
    cpu <= 2 and memory <= 4096         2      4096 MB
    cpu <= 4 and memory <= 8192         4      8192 MB
    otherwise (up to 8 / 16384)         8     16384 MB
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
from dataclasses import dataclass

from vercel.sandbox import SandboxCredentials, SandboxError, SandboxResources
from vercel.sandbox.sync import (
    SandboxServiceOptions,
    SyncProcess,
    SyncSandbox,
    SyncSandboxClient,
)

from sandboxes.remote_base import FollowedMachine, RemoteLaunch, RemoteSandboxError

log = logging.getLogger(__name__)

VCPU_SIZES = (2, 4, 8)
MIB_PER_VCPU = 2048
# Where a sandbox starts: the SDK's default working directory, writable by its user.
WORKDIR = "/vercel/sandbox"


def vercel_size(cpu: int, memory_mib: int) -> int:
    """The vCPUs to ask for: the smallest size not smaller in CPU or memory."""
    for vcpus in VCPU_SIZES:
        if vcpus >= cpu and vcpus * MIB_PER_VCPU >= memory_mib:
            return vcpus
    raise RemoteSandboxError(
        f"vercel: no sandbox size has {cpu} vCPUs and {memory_mib} MiB (at most "
        f"{VCPU_SIZES[-1]} vCPUs / {VCPU_SIZES[-1] * MIB_PER_VCPU} MiB)"
    )


@dataclass(frozen=True)
class VercelConfig:
    token: str
    team_id: str
    project_id: str
    api_url: str = ""  # "" -> the SDK's default (https://vercel.com/api)
    image: str = ""  # "" -> the service's default image (it ships python3)

    def client(self) -> SyncSandboxClient:
        credentials = SandboxCredentials(
            token=self.token, team_id=self.team_id, project_id=self.project_id
        )
        options = SandboxServiceOptions(
            base_url=self.api_url or None, credentials_factory=lambda: credentials
        )
        return SyncSandboxClient.create(options=options)


class VercelMachine(FollowedMachine):
    """A running Vercel sandbox and the runtime command in it."""

    provider = "vercel"

    def __init__(
        self,
        client: SyncSandboxClient,
        sandbox: SyncSandbox,
        process: SyncProcess,
        size: str,
    ) -> None:
        self._client = client
        self._sandbox = sandbox
        self._process = process
        super().__init__(sandbox.name, size)

    def _follow(self) -> None:
        """The command's output, stderr merged into stdout."""
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.log.add(line)

    def _exit_code_after_logs(self, deadline: float) -> int | None:
        try:
            return self._process.wait()
        except SandboxError:
            return None

    def _destroy(self) -> None:
        _stop_and_destroy(self._sandbox)
        self._client.close()


def _stop_and_destroy(sandbox: SyncSandbox) -> None:
    for step in (sandbox.stop, lambda: sandbox.destroy(delete_orphan_snapshots=True)):
        try:
            step()
        except Exception as exc:  # already stopped or gone: what we wanted
            log.warning("vercel: stopping sandbox %s: %s", sandbox.name, exc)


class VercelBackend:
    name = "vercel"

    def __init__(self, config: VercelConfig) -> None:
        self.config = config

    def launch(self, launch: RemoteLaunch) -> VercelMachine:
        vcpus = vercel_size(launch.limits.cpu, launch.limits.memory_mib)
        client = self.config.client()
        try:
            sandbox = client.create_sandbox(
                name=launch.name,
                image=self.config.image or None,
                resources=SandboxResources(vcpus=vcpus),
                execution_time_limit=launch.provider_timeout_s,
                tags=launch.labels,
            )
        except SandboxError as exc:
            client.close()
            raise RemoteSandboxError(f"vercel: creating the sandbox failed: {exc}") from exc
        try:
            with sandbox.fs.batch(cwd=WORKDIR) as batch:
                for path, content in launch.files.items():
                    mode = 0o755 if path in launch.executable else 0o644
                    batch.write_bytes(path, content, mode=mode)
            process = sandbox.create_process(
                launch.argv[0],
                launch.argv[1:],
                cwd=WORKDIR,
                env=launch.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except BaseException as exc:
            _stop_and_destroy(sandbox)
            client.close()
            if isinstance(exc, SandboxError):
                raise RemoteSandboxError(f"vercel: starting the runtime failed: {exc}") from exc
            raise
        size = f"{vcpus} vCPUs, {vcpus * MIB_PER_VCPU} MB"
        return VercelMachine(client, sandbox, process, size)

    def stop_remote(self, remote_id: str) -> bool:
        client = self.config.client()
        try:
            sandbox = client.get_sandbox(name=remote_id)
        except SandboxError:
            client.close()
            return False
        with contextlib.closing(client):
            _stop_and_destroy(sandbox)
        return True
