"""A local emulator of the Daytona HTTP APIs the `daytona` SDK uses: the control API
(`/api/sandbox...`: create, get, list, stop, delete) and the per-sandbox toolbox reached
through `toolboxProxyUrl` (`/toolbox/{sandboxId}/...`: bulk file upload, sessions, session
commands, their logs).

Shapes follow the SDK 0.226 generated clients (daytona_api_client, daytona_toolbox_api_client).
A session command is a shell command line; `GET .../command/{id}/logs?follow=true` is a
WebSocket that streams binary frames of stdout/stderr marked with the SDK's 3-byte prefixes,
closed with code 1000 when the command has exited (without `follow`, a JSON snapshot).
The SDK's Socket.IO event gateway (`/api/socket.io/`) is not emulated: the SDK falls back to
polling the sandbox's state, as it does when the gateway is unreachable.

    with DaytonaEmulator(api_key="k") as api:
        DaytonaConfig(api_key="k", api_url=api.api_url, target="us")
        api.sandboxes[sandbox_id].state        # "started" | "stopped" | "destroyed"
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import re
import struct
import time
import uuid
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

HOME = "/home/daytona"
ORGANIZATION_ID = "org_emulated"
STDOUT_PREFIX = b"\x01\x01\x01"
STDERR_PREFIX = b"\x02\x02\x02"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# The service's limits per sandbox (an organization's defaults): whole vCPUs and GiB.
MAX_CPU = 4
MAX_MEMORY_GIB = 8
DEFAULTS = {"cpu": 1, "memory": 1, "disk": 3}

_API_SANDBOX = re.compile(r"^/api/sandbox/(?P<id>[^/]+)(?P<rest>/.*)?$")
_TOOLBOX = re.compile(r"^/toolbox/(?P<id>[^/]+)(?P<rest>/.*)$")
_SESSION = re.compile(r"^/process/session/(?P<sid>[^/]+)(?P<rest>/.*)?$")
_COMMAND = re.compile(r"^/command/(?P<cid>[^/]+)(?P<logs>/logs)?$")


def _error(status: int, message: str) -> ApiError:
    return ApiError(status, {"statusCode": status, "message": message, "error": message})


class DaytonaEmulator(Emulator):
    def __init__(self, *, api_key: str = "daytona-test-key", **latencies: float) -> None:
        super().__init__(**latencies)
        self.api_key = api_key
        self.sessions: dict[tuple[str, str], list[str]] = {}  # (sandbox, session) -> commands

    @property
    def api_url(self) -> str:
        return f"{self.origin}/api"

    @property
    def toolbox_url(self) -> str:
        return f"{self.origin}/toolbox"

    def handle(self, request: RecordedRequest, handler: EmulatorHandler) -> None:
        if bearer_token(request) != self.api_key:
            raise _error(401, "Unauthorized")
        path, method = request.path, request.method
        if path == "/api/sandbox" and method == "POST":
            created = self._create(json_body(request))
            request.sandbox_id = created["id"]
            return handler.send_json(200, created)
        if path == "/api/sandbox" and method == "GET":
            items = [self._dto(s) for s in self.sandboxes.values() if s.state != "destroyed"]
            return handler.send_json(200, {"items": items, "nextCursor": None})
        if match := _API_SANDBOX.match(path):
            sandbox = self._sandbox(match["id"])
            request.sandbox_id = sandbox.id
            return self._sandbox_route(request, handler, sandbox, match["rest"])
        if match := _TOOLBOX.match(path):
            sandbox = self._sandbox(match["id"])
            request.sandbox_id = sandbox.id
            if sandbox.state != "started":
                raise _error(400, f"Sandbox is {sandbox.state}")
            return self._toolbox_route(request, handler, sandbox, match["rest"])
        raise _error(404, f"Cannot {method} {path}")

    def _sandbox_route(
        self,
        request: RecordedRequest,
        handler: EmulatorHandler,
        sandbox: RemoteSandbox,
        rest: str | None,
    ) -> None:
        method = request.method
        if rest is None and method == "GET":
            return handler.send_json(200, self._dto(sandbox))
        if rest is None and method == "DELETE":
            self._stop(sandbox, final="destroyed")
            sandbox.deleted = True
            return handler.send_json(200, self._dto(sandbox))
        if rest == "/stop" and method == "POST":
            ephemeral = sandbox.resources.get("autoDeleteInterval") == 0
            self._stop(sandbox, final="destroyed" if ephemeral else "stopped")
            return handler.send_json(200, self._dto(sandbox))
        if rest == "/toolbox-proxy-url" and method == "GET":
            return handler.send_json(200, {"url": self.toolbox_url})
        raise _error(404, f"Cannot {method} {request.path}")

    def _toolbox_route(
        self, request: RecordedRequest, handler: EmulatorHandler, sandbox: RemoteSandbox, rest: str
    ) -> None:
        method = request.method
        if rest == "/files/bulk-upload" and method == "POST":
            self._upload(sandbox, request)
            return handler.send_json(200, {})
        if rest == "/process/session" and method == "POST":
            session_id = json_body(request)["sessionId"]
            if (sandbox.id, session_id) in self.sessions:
                raise _error(409, "session already exists")
            self.sessions[(sandbox.id, session_id)] = []
            return handler.send_json(200, {})
        match = _SESSION.match(rest)
        if match is None:
            raise _error(404, f"Cannot {method} {rest}")
        key = (sandbox.id, match["sid"])
        if key not in self.sessions:
            raise _error(404, "session not found")
        sub = match["rest"]
        if sub is None and method == "GET":
            commands = [self._command(sandbox.commands[c]) for c in self.sessions[key]]
            return handler.send_json(200, {"sessionId": match["sid"], "commands": commands})
        if sub is None and method == "DELETE":
            for command_id in self.sessions.pop(key):
                sandbox.commands[command_id].kill()
            return handler.send_json(200, {})
        if sub == "/exec" and method == "POST":
            return handler.send_json(200, self._exec(sandbox, key, json_body(request)))
        command_match = _COMMAND.match(sub or "")
        if command_match is None or command_match["cid"] not in self.sessions[key]:
            raise _error(404, "command not found")
        command = sandbox.commands[command_match["cid"]]
        if command_match["logs"] is None:
            return handler.send_json(200, self._command(command))
        if request.query.get("follow", ["false"])[0] == "true":
            request.streamed = True
            return self._follow_logs(command, handler)
        stdout, stderr = command.output("stdout"), command.output("stderr")
        return handler.send_json(
            200, {"output": stdout + stderr, "stdout": stdout, "stderr": stderr}
        )

    # -- operations ----------------------------------------------------------------------------

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        cpu = body.get("cpu") or DEFAULTS["cpu"]
        memory = body.get("memory") or DEFAULTS["memory"]
        if not 1 <= cpu <= MAX_CPU or not 1 <= memory <= MAX_MEMORY_GIB:
            raise _error(400, f"cpu must be 1-{MAX_CPU} and memory 1-{MAX_MEMORY_GIB} GiB")
        time.sleep(self.create_delay_s)
        ttl = body.get("ttlMinutes")
        sandbox = RemoteSandbox(
            id=str(uuid.uuid4()),
            state="started",
            home=HOME,
            timeout_s=ttl * 60 if ttl else None,
            resources={
                "cpu": cpu,
                "memory": memory,
                "disk": body.get("disk") or DEFAULTS["disk"],
                "autoStopInterval": body.get("autoStopInterval"),
                "autoDeleteInterval": body.get("autoDeleteInterval"),
                "ttlMinutes": ttl,
                "dockerfile": (body.get("buildInfo") or {}).get("dockerfileContent"),
                "snapshot": body.get("snapshot"),
                "target": body.get("target") or "us",
                "name": body.get("name"),
                "labels": body.get("labels") or {},
                "user": body.get("user") or "daytona",
            },
            env=dict(body.get("env") or {}),
        )
        with self.lock:
            self.sandboxes[sandbox.id] = sandbox
        sandbox.arm_timeout(lambda: self._stop(sandbox, final="destroyed"))
        return self._dto(sandbox)

    def _stop(self, sandbox: RemoteSandbox, *, final: str) -> None:
        with self.lock:
            if sandbox.stopped_at is None:
                sandbox.stopped_at = time.time()
            sandbox.state = final
        sandbox.kill_all()

    def _upload(self, sandbox: RemoteSandbox, request: RecordedRequest) -> None:
        content_type = request.headers.get("content-type", "")
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + request.body
        )
        if not message.is_multipart():
            raise _error(400, "expected multipart/form-data")
        fields: dict[str, bytes] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            fields[str(name)] = payload if isinstance(payload, bytes) else b""
        index = 0
        while f"files[{index}].path" in fields:
            path = fields[f"files[{index}].path"].decode()
            sandbox.write(path, fields[f"files[{index}].file"])
            index += 1
        if index == 0:
            raise _error(400, "no files")

    def _exec(
        self, sandbox: RemoteSandbox, key: tuple[str, str], body: dict[str, Any]
    ) -> dict[str, Any]:
        time.sleep(self.command_delay_s)
        line = body["command"]
        command = sandbox.run(
            command_id=str(uuid.uuid4()),
            argv=["sh", "-c", line],
            cwd=None,
            env=sandbox.env,
            display=(line, []),
        )
        self.sessions[key].append(command.id)
        if body.get("runAsync") or body.get("async"):
            return {"cmdId": command.id}
        command.wait()
        stdout, stderr = command.output("stdout"), command.output("stderr")
        return {
            "cmdId": command.id,
            "exitCode": command.exit_code,
            "output": stdout + stderr,
            "stdout": stdout,
            "stderr": stderr,
        }

    def _follow_logs(self, command: RemoteCommand, handler: EmulatorHandler) -> None:
        key = handler.headers.get("Sec-WebSocket-Key")
        if key is None or handler.headers.get("Upgrade", "").lower() != "websocket":
            raise _error(400, "follow=true is a WebSocket")
        accept = base64.b64encode(hashlib.sha1((key + _WS_GUID).encode()).digest()).decode()
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept)
        handler.end_headers()
        for stream, data in command.follow():
            prefix = STDOUT_PREFIX if stream == "stdout" else STDERR_PREFIX
            handler.wfile.write(_ws_frame(0x2, prefix + data))
            handler.wfile.flush()
        handler.wfile.write(_ws_frame(0x8, struct.pack("!H", 1000)))
        handler.wfile.flush()
        handler.close_connection = True

    def _sandbox(self, sandbox_id: str) -> RemoteSandbox:
        sandbox = self.sandboxes.get(sandbox_id)
        if sandbox is None:
            for candidate in self.sandboxes.values():
                if candidate.resources.get("name") == sandbox_id:
                    return candidate
            raise _error(404, f"Sandbox with ID or name {sandbox_id} not found")
        return sandbox

    # -- payloads ------------------------------------------------------------------------------

    def _dto(self, sandbox: RemoteSandbox) -> dict[str, Any]:
        r = sandbox.resources
        created = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(sandbox.created_at))
        return {
            "id": sandbox.id,
            "organizationId": ORGANIZATION_ID,
            "name": r["name"] or sandbox.id,
            "user": r["user"],
            "env": sandbox.env,
            "labels": r["labels"],
            "public": False,
            "networkBlockAll": False,
            "kvm": False,
            "target": r["target"],
            "cpu": r["cpu"],
            "gpu": 0,
            "memory": r["memory"],
            "disk": r["disk"],
            "state": sandbox.state,
            "desiredState": "destroyed" if sandbox.state == "destroyed" else "started",
            "autoStopInterval": r["autoStopInterval"],
            "autoDeleteInterval": r["autoDeleteInterval"],
            "createdAt": created,
            "updatedAt": created,
            "toolboxProxyUrl": self.toolbox_url,
        }

    @staticmethod
    def _command(command: RemoteCommand) -> dict[str, Any]:
        return {"id": command.id, "command": command.name, "exitCode": command.exit_code}


def _ws_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final WebSocket frame (servers never mask)."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload
