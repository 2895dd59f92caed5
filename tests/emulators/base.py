"""What the provider emulators share: a threaded HTTP server, a sandbox whose filesystem is a
host directory, and commands that run as local processes.

An emulated sandbox is a temporary directory standing for the remote machine's "/": paths the
service receives (file writes, working directories) are placed under it. Commands run as real
local processes in their own process group, with a clean environment (a remote machine never
sees the host's environment) plus exactly the variables the request gave; they reach the
network like a remote sandbox does, so the runtime can call the test server home.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# The environment every emulated machine starts with (the image's), before the request's own.
BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    started_at: float = 0.0  # time.monotonic() when it arrived
    duration_s: float = 0.0  # until its response was written (streams: until they ended)
    sandbox_id: str = ""  # the sandbox it was about, once the emulator found (or made) it
    streamed: bool = False  # a response that lasts as long as a command (logs, waits)


class RemoteCommand:
    """One command running in an emulated sandbox: its output, as it arrives, and its exit."""

    def __init__(
        self,
        *,
        command_id: str,
        argv: list[str],
        cwd: str,
        env: dict[str, str],
        display: tuple[str, list[str]],
    ) -> None:
        self.id = command_id
        self.argv = argv
        self.cwd = cwd
        self.env = env  # exactly the environment the process was given
        self.name, self.args = display
        self.started_at_ms = int(time.time() * 1000)
        self.spawned_at = time.monotonic()
        self.first_output_at: float | None = None  # time.monotonic() of its first byte out
        self.chunks: list[tuple[str, bytes]] = []  # (stream, data) in arrival order
        self.exit_code: int | None = None
        self.signalled: int | None = None
        self._changed = threading.Condition()
        self._popen = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.pid = self._popen.pid
        readers = [
            threading.Thread(target=self._pump, args=("stdout",), daemon=True),
            threading.Thread(target=self._pump, args=("stderr",), daemon=True),
        ]
        for reader in readers:
            reader.start()
        threading.Thread(target=self._reap, args=(readers,), daemon=True).start()

    def _pump(self, stream: str) -> None:
        pipe = self._popen.stdout if stream == "stdout" else self._popen.stderr
        assert pipe is not None
        fd = pipe.fileno()
        while chunk := os.read(fd, 65536):
            with self._changed:
                if self.first_output_at is None:
                    self.first_output_at = time.monotonic()
                self.chunks.append((stream, chunk))
                self._changed.notify_all()
        pipe.close()

    def _reap(self, readers: list[threading.Thread]) -> None:
        code = self._popen.wait()
        for reader in readers:
            reader.join(timeout=5)
        with self._changed:
            self.exit_code = 128 - code if code < 0 else code  # as a shell reports signal N
            self._changed.notify_all()

    @property
    def running(self) -> bool:
        return self.exit_code is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        self.signalled = sig
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def wait(self, timeout: float | None = None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: self.exit_code is not None, timeout=timeout)
            return self.exit_code

    def follow(self, start: int = 0) -> Iterator[tuple[str, bytes]]:
        """Every chunk from index `start` on, as it arrives, until the command has exited."""
        index = start
        while True:
            with self._changed:
                self._changed.wait_for(partial(self._moved_past, index), timeout=1.0)
                fresh = self.chunks[index:]
                done = self.exit_code is not None and len(self.chunks) == index + len(fresh)
            yield from fresh
            index += len(fresh)
            if done:
                return

    def _moved_past(self, index: int) -> bool:
        return len(self.chunks) > index or self.exit_code is not None

    def output(self, stream: str | None = None) -> str:
        data = b"".join(chunk for name, chunk in self.chunks if stream in (None, name))
        return data.decode("utf-8", "replace")


@dataclass
class RemoteSandbox:
    """An emulated remote machine. `state` is the provider's word for it."""

    id: str
    state: str
    home: str  # the sandbox's working directory, as a path inside the sandbox
    timeout_s: float | None
    resources: dict[str, Any]
    env: dict[str, str]
    session_id: str = ""  # Vercel: the sandbox's current session, which commands run in
    created_at: float = field(default_factory=time.time)
    root: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="emulated-sandbox-"))
    commands: dict[str, RemoteCommand] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # sandbox path -> what was uploaded
    stopped_at: float | None = None
    deleted: bool = False
    _timer: threading.Timer | None = None

    def __post_init__(self) -> None:
        os.makedirs(self.local(self.home), exist_ok=True)

    def local(self, path: str, cwd: str | None = None) -> str:
        """The host path standing for `path` (absolute, or relative to `cwd`/home)."""
        full = posixpath.normpath(posixpath.join(cwd or self.home, path))
        return os.path.join(self.root, full.lstrip("/"))

    def write(self, path: str, data: bytes, mode: int | None = None) -> None:
        full = posixpath.normpath(posixpath.join(self.home, path))
        target = self.local(full)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(target, mode & 0o7777)
        self.files[full] = data

    def run(
        self,
        *,
        command_id: str,
        argv: list[str],
        cwd: str | None,
        env: dict[str, str],
        display: tuple[str, list[str]],
    ) -> RemoteCommand:
        workdir = self.local(cwd or self.home)
        os.makedirs(workdir, exist_ok=True)
        full_env = {**BASE_ENV, "HOME": self.local(self.home), **env}
        command = RemoteCommand(
            command_id=command_id, argv=argv, cwd=workdir, env=full_env, display=display
        )
        self.commands[command_id] = command
        return command

    def arm_timeout(self, on_expiry: Any) -> None:
        if self.timeout_s:
            self._timer = threading.Timer(self.timeout_s, on_expiry)
            self._timer.daemon = True
            self._timer.start()

    def kill_all(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for command in self.commands.values():
            command.kill()
        for command in self.commands.values():
            command.wait(timeout=5)

    @property
    def running_commands(self) -> list[RemoteCommand]:
        return [c for c in self.commands.values() if c.running]

    def discard_files(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class ApiError(Exception):
    def __init__(self, status: int, payload: dict[str, Any]) -> None:
        super().__init__(status, payload)
        self.status = status
        self.payload = payload


class EmulatorHandler(BaseHTTPRequestHandler):
    """Routes a request to the emulator's `handle(request, handler)`; JSON in, JSON out."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes: with Nagle's algorithm on, the client's
    # delayed ACK would hold every keep-alive response back ~40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _dispatch(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        request = RecordedRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            started_at=started,
        )
        emulator = self.server.emulator
        emulator.requests.append(request)
        try:
            emulator.handle(request, self)
        except ApiError as error:
            self.send_json(error.status, error.payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        request.duration_s = time.monotonic() - started

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def send_json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_stream(self, content_type: str) -> None:
        """Begin a chunked response (write with send_chunk, end with end_stream)."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: Emulator


class Emulator:
    """A provider's HTTP service on a free loopback port, run in a background thread.

    Latencies (seconds) stand for the provider's own work, so benchmarks can tell it from the
    platform's overhead: `create_delay_s` before a sandbox is created, `command_delay_s`
    before a command starts.
    """

    handler_class: type[EmulatorHandler] = EmulatorHandler

    def __init__(self, *, create_delay_s: float = 0.0, command_delay_s: float = 0.0) -> None:
        self.create_delay_s = create_delay_s
        self.command_delay_s = command_delay_s
        self.sandboxes: dict[str, RemoteSandbox] = {}
        self.requests: list[RecordedRequest] = []
        self.lock = threading.RLock()
        self._server = _Server(("127.0.0.1", 0), self.handler_class)
        self._server.emulator = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Emulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        for sandbox in list(self.sandboxes.values()):
            sandbox.kill_all()
            sandbox.discard_files()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def handle(self, request: RecordedRequest, handler: EmulatorHandler) -> None:
        raise NotImplementedError

    # -- what tests ask ------------------------------------------------------------------------

    def live_sandboxes(self) -> list[RemoteSandbox]:
        """Sandboxes that still run or hold a running command (what a bill would show)."""
        return [s for s in self.sandboxes.values() if s.stopped_at is None or s.running_commands]

    def wait_until_stopped(self, sandbox_id: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        sandbox = self.sandboxes[sandbox_id]
        while time.monotonic() < deadline:
            if sandbox.stopped_at is not None and not sandbox.running_commands:
                return True
            time.sleep(0.02)
        return False

    def request_bodies(self) -> bytes:
        """Every byte the platform sent (paths, queries and bodies; not the auth headers)."""
        return b"\n".join(
            r.path.encode() + json.dumps(r.query).encode() + r.body for r in self.requests
        )


def bearer_token(request: RecordedRequest) -> str | None:
    auth = request.headers.get("authorization", "")
    return auth[7:] if auth.lower().startswith("bearer ") else None


def json_body(request: RecordedRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        data = json.loads(request.body)
    except ValueError:
        raise ApiError(400, {"error": {"code": "bad_request", "message": "invalid JSON"}}) from None
    if not isinstance(data, dict):
        raise ApiError(400, {"error": {"code": "bad_request", "message": "expected an object"}})
    return data
