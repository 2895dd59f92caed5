"""A local emulator of the Vercel Sandbox HTTP API (the part the `vercel-sandbox` SDK uses to
create a sandbox, write files, run a command, follow its logs, wait, kill, stop and destroy).

Shapes follow the SDK 0.10 client (vercel/sandbox/_internal/api_client.py): a sandbox is named
and has a current session; files arrive as a gzipped tar against "/"; `POST .../cmd` answers
with the command, or with NDJSON records when `wait=true&logs=true`; `GET .../cmd/{id}/logs`
streams NDJSON `{"stream": "stdout"|"stderr", "data": ...}` records from the beginning until
the command exits. Every request must carry the configured bearer token and team id.

    with VercelEmulator(token="t", team_id="team_1", project_id="prj_1") as api:
        ...  # SandboxServiceOptions(base_url=api.base_url, credentials_factory=...)
        api.sandboxes[name].state            # "running" | "stopped"
        api.sandboxes[name].commands[cid].env
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import tarfile
import time
from typing import Any

from tests.emulators.base import (
    ApiError,
    Emulator,
    EmulatorHandler,
    RecordedRequest,
    RemoteCommand,
    RemoteSandbox,
    bearer_token,
    json_body,
)

SANDBOX_CWD = "/vercel/sandbox"
REGION = "iad1"
DEFAULT_TIMEOUT_MS = 5 * 60 * 1000
# What the service accepts: 2, 4 or 8 vCPUs (it answers 400 to 1), 2048 MB of memory per vCPU.
VCPU_SIZES = (2, 4, 8)
MEMORY_PER_VCPU_MB = 2048

_SESSION_PATH = re.compile(r"^/v2/sandboxes/sessions/(?P<sid>[^/]+)(?P<rest>/.*)?$")
_SANDBOX_PATH = re.compile(r"^/v2/sandboxes/(?P<name>[^/]+)$")


def _not_found(what: str) -> ApiError:
    return ApiError(404, {"error": {"code": "not_found", "message": f"{what} not found"}})


class VercelEmulator(Emulator):
    def __init__(
        self,
        *,
        token: str = "vercel-test-token",
        team_id: str = "team_emulated",
        project_id: str = "prj_emulated",
        **latencies: float,
    ) -> None:
        super().__init__(**latencies)
        self.token = token
        self.team_id = team_id
        self.project_id = project_id
        self.sessions: dict[str, str] = {}  # session id -> sandbox name

    @property
    def base_url(self) -> str:
        return f"{self.origin}/api"

    # -- routing -------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest, handler: EmulatorHandler) -> None:
        if bearer_token(request) != self.token:
            raise ApiError(403, {"error": {"code": "forbidden", "message": "Not authorized"}})
        if request.query.get("teamId", [None])[0] != self.team_id:
            raise ApiError(403, {"error": {"code": "forbidden", "message": "Wrong team"}})
        path = request.path.removeprefix("/api")
        if path == "/v3/sandboxes" and request.method == "POST":
            created = self._create(json_body(request))
            request.sandbox_id = created["sandbox"]["name"]
            return handler.send_json(200, created)
        if path == "/v2/sandboxes" and request.method == "GET":
            return handler.send_json(200, self._list(request))
        if match := _SESSION_PATH.match(path):
            return self._session_route(request, handler, match["sid"], match["rest"] or "")
        if match := _SANDBOX_PATH.match(path):
            sandbox = self._sandbox(match["name"])
            request.sandbox_id = sandbox.id
            if request.method == "GET":
                return handler.send_json(200, self._sandbox_response(sandbox))
            if request.method == "DELETE":
                self._stop(sandbox)
                sandbox.deleted = True
                return handler.send_json(200, self._sandbox_response(sandbox))
        raise _not_found(f"{request.method} {path}")

    def _session_route(
        self, request: RecordedRequest, handler: EmulatorHandler, sid: str, rest: str
    ) -> None:
        sandbox = self._sandbox(self.sessions.get(sid) or "")
        request.sandbox_id = sandbox.id
        method = request.method
        if rest == "/stop" and method == "POST":
            self._stop(sandbox)
            return handler.send_json(
                200, {"session": self._session(sandbox), "sandbox": self._payload(sandbox)}
            )
        if rest == "/fs/write" and method == "POST":
            self._require_running(sandbox)
            self._write_archive(sandbox, request)
            return handler.send_json(200, {})
        if rest == "/fs/mkdir" and method == "POST":
            body = json_body(request)
            os.makedirs(sandbox.local(body["path"], body.get("cwd")), exist_ok=True)
            return handler.send_json(200, {})
        if rest == "/cmd" and method == "POST":
            return self._run(sandbox, request, handler)
        if rest == "/cmd" and method == "GET":
            commands = [self._command(sandbox, c) for c in sandbox.commands.values()]
            return handler.send_json(200, {"commands": commands})
        match = re.match(r"^/cmd/(?P<cid>[^/]+)(?P<tail>/logs|/kill|/stdin)?$", rest)
        if match is None:
            raise _not_found(f"{method} {rest}")
        command = sandbox.commands.get(match["cid"])
        if command is None:
            raise _not_found("command")
        tail = match["tail"]
        if tail is None and method == "GET":
            if request.query.get("wait", ["false"])[0] == "true":
                request.streamed = True
                command.wait()
            return handler.send_json(200, {"command": self._command(sandbox, command)})
        if tail == "/logs" and method == "GET":
            request.streamed = True
            return self._stream_logs(command, handler)
        if tail == "/kill" and method == "POST":
            command.kill(int(json_body(request).get("signal", 9)))
            return handler.send_json(200, {"command": self._command(sandbox, command)})
        raise _not_found(f"{method} {rest}")

    # -- operations ----------------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("projectId") != self.project_id:
            raise ApiError(404, {"error": {"code": "not_found", "message": "Project not found"}})
        resources = body.get("resources") or {}
        vcpus = resources.get("vcpus", 2)
        if vcpus not in VCPU_SIZES:
            raise ApiError(
                400, {"error": {"code": "bad_request", "message": f"vcpus {vcpus} not allowed"}}
            )
        memory = resources.get("memory", vcpus * MEMORY_PER_VCPU_MB)
        if memory != vcpus * MEMORY_PER_VCPU_MB:
            raise ApiError(
                400, {"error": {"code": "bad_request", "message": "memory is 2048 MB per vCPU"}}
            )
        time.sleep(self.create_delay_s)
        timeout_ms = body.get("timeout") or DEFAULT_TIMEOUT_MS
        name = body.get("name") or f"sbx_{secrets.token_hex(8)}"
        with self.lock:
            if name in self.sandboxes:
                raise ApiError(409, {"error": {"code": "conflict", "message": "name taken"}})
            sandbox = RemoteSandbox(
                id=name,
                state="running",
                home=SANDBOX_CWD,
                timeout_s=timeout_ms / 1000,
                resources={"vcpus": vcpus, "memory": memory, "image": body.get("image")},
                env=dict(body.get("env") or {}),
                session_id=f"sess_{secrets.token_hex(8)}",
            )
            self.sandboxes[name] = sandbox
            self.sessions[sandbox.session_id] = name
        sandbox.arm_timeout(lambda: self._stop(sandbox))
        return self._sandbox_response(sandbox)

    def _list(self, request: RecordedRequest) -> dict[str, Any]:
        if request.query.get("project", [None])[0] != self.project_id:
            raise _not_found("project")
        sandboxes = [self._payload(s) for s in self.sandboxes.values() if not s.deleted]
        return {"sandboxes": sandboxes, "pagination": {"count": len(sandboxes), "next": None}}

    def _stop(self, sandbox: RemoteSandbox) -> None:
        with self.lock:
            if sandbox.stopped_at is None:
                sandbox.stopped_at = time.time()
                sandbox.state = "stopped"
        sandbox.kill_all()

    def _write_archive(self, sandbox: RemoteSandbox, request: RecordedRequest) -> None:
        cwd = request.headers.get("x-cwd", "/")
        try:
            with tarfile.open(fileobj=io.BytesIO(request.body), mode="r:gz") as archive:
                for member in archive.getmembers():
                    if not member.isfile():
                        continue
                    extracted = archive.extractfile(member)
                    assert extracted is not None
                    path = "/" + member.name.lstrip("/") if cwd == "/" else f"{cwd}/{member.name}"
                    sandbox.write(path, extracted.read(), member.mode)
        except (tarfile.TarError, OSError):
            raise ApiError(
                400, {"error": {"code": "bad_request", "message": "bad archive"}}
            ) from None

    def _run(
        self, sandbox: RemoteSandbox, request: RecordedRequest, handler: EmulatorHandler
    ) -> None:
        self._require_running(sandbox)
        body = json_body(request)
        time.sleep(self.command_delay_s)
        name, args = body["command"], list(body.get("args") or [])
        command = sandbox.run(
            command_id=f"cmd_{secrets.token_hex(8)}",
            argv=[name, *args],
            cwd=body.get("cwd"),
            env=dict(body.get("env") or {}),
            display=(name, args),
        )
        if request.query.get("wait", ["false"])[0] != "true":
            return handler.send_json(200, {"command": self._command(sandbox, command)})
        request.streamed = True
        handler.start_stream("application/x-ndjson")
        handler.send_chunk(self._ndjson({"command": self._command(sandbox, command)}))
        for stream, data in command.follow():
            handler.send_chunk(
                self._ndjson({"stream": stream, "data": data.decode("utf-8", "replace")})
            )
        command.wait()
        handler.send_chunk(self._ndjson({"command": self._command(sandbox, command)}))
        handler.end_stream()
        return None

    def _stream_logs(self, command: RemoteCommand, handler: EmulatorHandler) -> None:
        handler.start_stream("application/x-ndjson")
        for stream, data in command.follow():
            text = data.decode("utf-8", "replace")
            handler.send_chunk(self._ndjson({"stream": stream, "data": text}))
        handler.end_stream()
        handler.close_connection = True

    def _require_running(self, sandbox: RemoteSandbox) -> None:
        if sandbox.stopped_at is not None:
            raise ApiError(
                410, {"error": {"code": "sandbox_stopped", "message": "Sandbox stopped"}}
            )

    def _sandbox(self, name: str) -> RemoteSandbox:
        sandbox = self.sandboxes.get(name)
        if sandbox is None or sandbox.deleted:
            raise _not_found("sandbox")
        return sandbox

    # -- payloads ------------------------------------------------------------------------------

    @staticmethod
    def _ndjson(record: dict[str, Any]) -> bytes:
        return json.dumps(record).encode() + b"\n"

    def _payload(self, sandbox: RemoteSandbox) -> dict[str, Any]:
        created = int(sandbox.created_at * 1000)
        return {
            "name": sandbox.id,
            "currentSessionId": sandbox.session_id,
            "status": sandbox.state,
            "persistent": False,
            "projectId": self.project_id,
            "cwd": SANDBOX_CWD,
            "region": REGION,
            "memory": sandbox.resources["memory"],
            "vcpus": sandbox.resources["vcpus"],
            "timeout": int((sandbox.timeout_s or 0) * 1000),
            "createdAt": created,
            "updatedAt": created,
            "statusUpdatedAt": int((sandbox.stopped_at or sandbox.created_at) * 1000),
            "tags": {},
        }

    def _session(self, sandbox: RemoteSandbox) -> dict[str, Any]:
        return {
            "id": sandbox.session_id,
            "sourceSandboxName": sandbox.id,
            "projectId": self.project_id,
            "status": sandbox.state,
            "cwd": SANDBOX_CWD,
            "region": REGION,
            "memory": sandbox.resources["memory"],
            "vcpus": sandbox.resources["vcpus"],
            "timeout": int((sandbox.timeout_s or 0) * 1000),
            "requestedAt": int(sandbox.created_at * 1000),
            "startedAt": int(sandbox.created_at * 1000),
            "stoppedAt": int(sandbox.stopped_at * 1000) if sandbox.stopped_at else None,
        }

    def _sandbox_response(self, sandbox: RemoteSandbox) -> dict[str, Any]:
        return {"sandbox": self._payload(sandbox), "session": self._session(sandbox), "routes": []}

    def _command(self, sandbox: RemoteSandbox, command: RemoteCommand) -> dict[str, Any]:
        return {
            "id": command.id,
            "name": command.name,
            "args": command.args,
            "cwd": SANDBOX_CWD,
            "sessionId": sandbox.session_id,
            "exitCode": command.exit_code,
            "startedAt": command.started_at_ms,
        }
