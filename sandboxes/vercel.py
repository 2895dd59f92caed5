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
import threading
from dataclasses import dataclass

from vercel.sandbox import SandboxCredentials, SandboxError, SandboxResources
from vercel.sandbox.sync import (
    SandboxServiceOptions,
    SyncProcess,
    SyncSandbox,
    SyncSandboxClient,
)

from sandboxes.base import CappedLog
from sandboxes.remote_base import LOG_CAP_BYTES, RemoteLaunch, RemoteSandboxError

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


class VercelMachine:
    """A running Vercel sandbox and the runtime command in it."""

    def __init__(
        self,
        client: SyncSandboxClient,
        sandbox: SyncSandbox,
        process: SyncProcess,
        size: str,
    ) -> None:
        self.id = sandbox.name
        self.size = size
        self.log = CappedLog(LOG_CAP_BYTES)
        self._client = client
        self._sandbox = sandbox
        self._process = process
        self._exit_code: int | None = None
        self._stopped = False
        self._lock = threading.Lock()
        self._logs_done = threading.Event()
        threading.Thread(target=self._pump, name=f"vercel-log-{self.id}", daemon=True).start()

    def _pump(self) -> None:
        """Follows the command's output (stderr merged into stdout) until it exits."""
        try:
            assert self._process.stdout is not None
            for line in self._process.stdout:
                self.log.add(line)
        except Exception as exc:  # the sandbox was stopped under the stream, or the network
            if not self._stopped:
                self.log.add(f"[vercel: log stream ended: {type(exc).__name__}: {exc}]\n")
        finally:
            self._logs_done.set()

    def wait(self, timeout: float) -> int | None:
        """The runtime's exit code once it has exited (the machine is then stopped: it has
        nothing left to do); None while it runs, or when it was stopped under it."""
        if self._exit_code is not None or self._stopped:
            return self._exit_code
        if not self._logs_done.wait(timeout):
            return None
        try:
            self._exit_code = self._process.wait()
        except SandboxError:
            return None
        self.kill()
        return self._exit_code

    def log_text(self) -> str:
        return self.log.text()

    def kill(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
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
