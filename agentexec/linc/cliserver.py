"""The runtime's side of the `casedev` CLI: a unix socket served while shell commands run.

On the first shell.exec the runtime creates a private directory under $TMPDIR (mode 0700) with
the socket (0600) and a `casedev` launcher, and runs commands with that directory on PATH and
LINC_CLI_SOCKET set. Each CLI call is one JSON line, ``{"tool": NAME, "input": {...}}``,
relayed to the host as the matching `tool` request marked ``"source": "cli"``: the host applies
the run's allow/deny list and scope and records the call as a step, as for the agent's own
calls. The answer is one JSON line, ``{"content": TEXT, "isError": BOOL}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

import agentexec.linc
from agentexec.linc.channel import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from agentexec.linc.channel import Channel

SOCKET_ENV = "LINC_CLI_SOCKET"
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # a vault write carries a whole document
CLIENT_TIMEOUT_S = 10.0
MAX_SOCKET_PATH = 100  # for reading a request and writing its answer


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def launcher_script() -> str:
    """A shell launcher for the CLI with the interpreter and code this runtime runs on."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(agentexec.linc.__file__)))
    python = _quote(sys.executable)
    if os.path.isfile(root):  # a zipapp: runtime.pyz/agentexec/linc/__init__.py
        command = f'exec {python} -S -s -B {_quote(root)} cli "$@"'
    else:
        code = "import sys; from agentexec.linc.cli import main; sys.exit(main())"
        command = f'PYTHONPATH={_quote(root)} exec {python} -S -s -B -c {_quote(code)} "$@"'
    return f"#!/bin/sh\n{command}\n"


class CliServer:
    def __init__(self, chan: Channel) -> None:
        # On the first shell.exec only: both cost milliseconds of every boot otherwise.
        import socket

        from agentexec.linc.cli import HOST_TOOLS

        self.chan = chan
        self.tools = HOST_TOOLS
        self.calls = 0
        base = os.environ.get("TMPDIR") or "/tmp"
        name = f"casedev-{os.getpid()}"
        if len(os.path.join(base, name, "cli.sock")) > MAX_SOCKET_PATH:
            base = "/tmp"  # a unix socket's path is short (108 bytes on Linux)
        self.dir = os.path.join(base, name)
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(self.dir, 0o700)
        os.mkdir(bindir, 0o700)
        launcher = os.path.join(bindir, "casedev")
        fd = os.open(launcher, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
        with open(fd, "w") as fh:
            fh.write(launcher_script())
        self.path = os.path.join(self.dir, "cli.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        umask = os.umask(0o177)
        try:
            self.sock.bind(self.path)
        finally:
            os.umask(umask)
        self.sock.listen(8)
        self.sock.setblocking(False)
        path = os.environ.get("PATH") or "/usr/bin:/bin"
        self.child_env = {**os.environ, SOCKET_ENV: self.path, "PATH": f"{bindir}:{path}"}
        log(f"casedev CLI on {self.path}")

    def fileno(self) -> int:
        return self.sock.fileno()

    def serve_one(self) -> None:
        """Answer one waiting CLI connection (the selector saw the socket readable)."""
        try:
            conn, _ = self.sock.accept()
        except BlockingIOError:
            return
        with conn:
            conn.settimeout(CLIENT_TIMEOUT_S)
            try:
                request = self._read(conn)
            except (OSError, ValueError) as exc:
                request = {"_error": f"bad request from the CLI: {exc}"}
            answer = self.answer(request)
            with contextlib.suppress(OSError):  # the command gave up waiting
                conn.sendall(json.dumps(answer, ensure_ascii=True).encode() + b"\n")

    @staticmethod
    def _read(conn: Any) -> dict[str, Any]:
        data = bytearray()
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_REQUEST_BYTES:
                raise ValueError(f"request over {MAX_REQUEST_BYTES} bytes")
        obj = json.loads(data)
        if not isinstance(obj, dict):
            raise ValueError("not a JSON object")
        return obj

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        if "_error" in request:
            return {"content": request["_error"], "isError": True}
        name, args = request.get("tool"), request.get("input")
        if name not in self.tools or not isinstance(args, dict):
            return {"content": f"the CLI cannot call {name!r}", "isError": True}
        self.calls += 1
        message = {"type": "tool", "toolUseId": f"cli_{self.calls}", "name": name, "input": args}
        message["source"] = "cli"
        reply = self.chan.request(message, ("tool_result", "tool_approved"))
        if reply["type"] == "tool_approved":  # never for host tools; the host refuses it too
            return {"content": f"{name} is not a host tool", "isError": True}
        content, is_error = reply.get("content"), reply.get("is_error")
        log(f"casedev {name} is_error={str(bool(is_error)).lower()}")
        return {"content": str(content), "isError": bool(is_error)}

    def close(self) -> None:
        import shutil  # only at the end of a run that used the CLI

        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)
