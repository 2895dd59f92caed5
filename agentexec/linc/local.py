"""Sandbox-local tool implementations: shell.exec and files.*, confined to the workspace root.

Every failure the agent should see (bad input, path escape, missing file, write error) is a
ToolError, turned into an ``is_error`` result by the caller; nothing here should crash linc.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time

from agentexec.linc.channel import log
from agentexec.linc.tools import FILES_LIST, FILES_READ, FILES_WRITE, SHELL_EXEC

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~3 ms to import; only checkers need it
    import subprocess
    from collections.abc import Callable
    from typing import Any

    from agentexec.linc.cliserver import CliServer

MAX_LIST_ENTRIES = 1000
# After the shell exits, how long background jobs may keep our pipes open before their
# process group is killed (a job that redirected its output is left alone).
PIPE_GRACE_S = 0.2
# Raise the OOM score of tool commands so that, under a memory limit, the kernel picks the
# command and not linc (which must survive to report the result).
COMMAND_OOM_SCORE_ADJ = b"500"
_MEMORY_ERROR_MARKERS = ("MemoryError", "Cannot allocate memory", "memory exhausted")


class ToolError(Exception):
    """A tool failure reported to the agent as an is_error result."""


class ToolOutcome:
    def __init__(self, content: str, is_error: bool = False, suspected_oom: bool = False) -> None:
        self.content = content
        self.is_error = is_error
        self.suspected_oom = suspected_oom


class Workspace:
    def __init__(
        self,
        root: str,
        *,
        shell_timeout_s: int,
        output_cap: int,
        deadline: float,
        memory_limit_mib: int | None = None,
    ) -> None:
        self.root = root  # realpath of the workspace directory
        self.shell_timeout_s = shell_timeout_s
        self.output_cap = output_cap
        self.deadline = deadline  # time.monotonic() at which the run's own timeout expires
        self.memory_limit_mib = memory_limit_mib
        # Starts the `casedev` CLI's socket on the first shell.exec (see cliserver).
        self.make_cli: Callable[[], CliServer] | None = None
        self._cli: CliServer | None = None

    def cli(self) -> CliServer | None:
        if self._cli is None and self.make_cli is not None:
            make, self.make_cli = self.make_cli, None
            try:
                self._cli = make()
            except OSError as exc:  # shell commands still run, without the CLI
                log(f"casedev CLI unavailable: {exc}")
        return self._cli

    def close(self) -> None:
        if self._cli is not None:
            self._cli.close()
            self._cli = None

    def resolve(self, path: str) -> str:
        """The real path for `path`, refusing anything that lands outside the root."""
        if "\x00" in path:
            raise ToolError("path contains a NUL byte")
        joined = path if os.path.isabs(path) else os.path.join(self.root, path)
        real = os.path.realpath(joined)  # resolves `..` and symlinks, so escapes show up here
        if real != self.root and not real.startswith(self.root + os.sep):
            raise ToolError(f"path is outside the workspace: {path!r}")
        return real

    def display(self, real: str) -> str:
        return os.path.relpath(real, self.root)


def truncate(data: bytes, cap: int, total: int | None = None) -> str:
    """Decode at most `cap` bytes, appending a visible marker when something was cut."""
    total = len(data) if total is None else total
    text = data[:cap].decode("utf-8", "replace")
    if total > cap:
        text += f"\n[... truncated {total - cap} bytes ...]"
    return text


def _str_arg(args: dict[str, Any], key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if value is None:
        raise ToolError(f"missing required field {key!r}")
    if not isinstance(value, str):
        raise ToolError(f"field {key!r} must be a string, got {type(value).__name__}")
    return value


def run_local(name: str, args: dict[str, Any], ws: Workspace) -> ToolOutcome:
    handler = _HANDLERS.get(name)
    if handler is None:
        return ToolOutcome(f"unknown sandbox tool: {name!r}", is_error=True)
    try:
        return handler(args, ws)
    except ToolError as exc:
        return ToolOutcome(str(exc), is_error=True)
    except OSError as exc:  # e.g. EFBIG from RLIMIT_FSIZE, ENOSPC on the workspace tmpfs
        return ToolOutcome(f"{name} failed: {exc.strerror or exc}", is_error=True)


# -- files.* -----------------------------------------------------------------------------------


def files_read(args: dict[str, Any], ws: Workspace) -> ToolOutcome:
    real = ws.resolve(_str_arg(args, "path"))
    if not os.path.isfile(real):
        raise ToolError(f"not a file: {ws.display(real)}")
    with open(real, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        data = fh.read(ws.output_cap + 1)
    return ToolOutcome(truncate(data, ws.output_cap, max(size, len(data))))


def files_write(args: dict[str, Any], ws: Workspace) -> ToolOutcome:
    real = ws.resolve(_str_arg(args, "path"))
    content = _str_arg(args, "content").encode("utf-8", "surrogatepass")
    if real == ws.root or os.path.isdir(real):
        raise ToolError(f"is a directory: {ws.display(real)}")
    os.makedirs(os.path.dirname(real), exist_ok=True)
    # O_NOFOLLOW: the path was resolved above; refuse a symlink swapped in since.
    fd = os.open(real, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    result = {"path": ws.display(real), "bytesWritten": len(content)}
    return ToolOutcome(json.dumps(result))


def _entry(entry: os.DirEntry[str]) -> dict[str, Any]:
    st = entry.stat(follow_symlinks=False)
    if entry.is_symlink():
        kind = "symlink"
    elif entry.is_dir(follow_symlinks=False):
        kind = "dir"
    elif entry.is_file(follow_symlinks=False):
        kind = "file"
    else:
        kind = "other"
    return {"name": entry.name, "type": kind, "size": st.st_size}


def files_list(args: dict[str, Any], ws: Workspace) -> ToolOutcome:
    real = ws.resolve(_str_arg(args, "path", "."))
    if not os.path.isdir(real):
        raise ToolError(f"not a directory: {ws.display(real)}")
    with os.scandir(real) as it:
        entries = sorted((_entry(e) for e in it), key=lambda e: e["name"])
    result: dict[str, Any] = {"path": ws.display(real), "entries": entries[:MAX_LIST_ENTRIES]}
    if len(entries) > MAX_LIST_ENTRIES:
        result["truncated"] = len(entries) - MAX_LIST_ENTRIES
    return ToolOutcome(json.dumps(result))


# -- shell.exec --------------------------------------------------------------------------------


class _Capped:
    """Keeps the first `cap` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return truncate(bytes(self.data), self.cap, self.total)


def _shell_timeout(args: dict[str, Any], ws: Workspace) -> float:
    value = args.get("timeoutSeconds")
    if value is None:
        timeout = float(ws.shell_timeout_s)
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolError("field 'timeoutSeconds' must be an integer")
    elif value <= 0:
        raise ToolError("field 'timeoutSeconds' must be positive")
    else:
        timeout = float(min(value, ws.shell_timeout_s))
    # Never outlive the run: the host kills the sandbox at its own deadline anyway.
    return max(0.5, min(timeout, ws.deadline - time.monotonic()))


def _prefer_as_oom_victim() -> None:
    try:
        fd = os.open("/proc/self/oom_score_adj", os.O_WRONLY)
        try:
            os.write(fd, COMMAND_OOM_SCORE_ADJ)
        finally:
            os.close(fd)
    except OSError:
        pass


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _exited(pid: int) -> bool:
    # WNOWAIT: leave the zombie in place so the pid (and its group id) cannot be reused
    # before we are done signalling the group.
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _pump(
    proc: subprocess.Popen[bytes],
    outs: dict[int, _Capped],
    deadline: float,
    cli: CliServer | None = None,
) -> bool:
    """Read both pipes until EOF or `deadline`, serving `casedev` calls on the CLI socket
    meanwhile; returns True when the deadline hit."""
    import selectors

    sel = selectors.DefaultSelector()
    for fd in outs:
        sel.register(fd, selectors.EVENT_READ)
    if cli is not None:
        sel.register(cli.fileno(), selectors.EVENT_READ)
    open_pipes = len(outs)
    exited_at: float | None = None
    leftovers_killed = False
    try:
        while open_pipes:
            now = time.monotonic()
            if now >= deadline:
                return True
            if exited_at is None and _exited(proc.pid):
                exited_at = now
            if exited_at is not None and now - exited_at > PIPE_GRACE_S:
                if leftovers_killed:
                    break  # held open from outside the group (setsid); stop waiting
                _killpg(proc.pid)  # jobs left holding our pipes; see PIPE_GRACE_S
                leftovers_killed = True
                exited_at = now
            for key, _ in sel.select(min(deadline - now, 0.05)):
                if key.fd not in outs:
                    assert cli is not None
                    cli.serve_one()
                    continue
                chunk = os.read(key.fd, 65536)
                if chunk:
                    outs[key.fd].add(chunk)
                else:
                    sel.unregister(key.fd)
                    open_pipes -= 1
        return False
    finally:
        sel.close()


def _oom_hint(code: int, timed_out: bool, stderr: _Capped, ws: Workspace) -> str | None:
    limit = f"memory limit {ws.memory_limit_mib} MiB" if ws.memory_limit_mib else "memory limit"
    # -9: the shell itself was killed; 137: the shell reports a SIGKILLed child (128 + 9).
    if code in (-signal.SIGKILL, 128 + signal.SIGKILL) and not timed_out:
        return f"[linc] killed by SIGKILL (out of memory? {limit})"
    # Without a cgroup the limit is RLIMIT_AS: allocations fail instead of being killed.
    text = stderr.data.decode("utf-8", "replace")
    if code > 0 and _address_space_limited() and any(m in text for m in _MEMORY_ERROR_MARKERS):
        return f"[linc] the command ran out of memory ({limit})"
    return None


def _address_space_limited() -> bool:
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)[0] != resource.RLIM_INFINITY


def shell_exec(args: dict[str, Any], ws: Workspace) -> ToolOutcome:
    command = _str_arg(args, "command")
    if not command.strip():
        raise ToolError("field 'command' must not be empty")
    deadline = time.monotonic() + _shell_timeout(args, ws)
    import subprocess  # on first use: with its dependencies it costs ~5 ms to import

    cli = ws.cli()
    proc = subprocess.Popen(
        ["/bin/sh", "-c", command],
        cwd=ws.root,
        env=cli.child_env if cli is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,  # own group (same session), so a timeout kills the whole pipeline
        preexec_fn=_prefer_as_oom_victim,
        close_fds=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Capped(ws.output_cap), _Capped(ws.output_cap)
    with proc.stdout, proc.stderr:
        pipes = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
        timed_out = _pump(proc, pipes, deadline, cli)
    if not timed_out:  # the pipes are closed, but the command may still run (exec >&-)
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            timed_out = True
    if timed_out:
        _killpg(proc.pid)
    code = proc.wait()
    hint = _oom_hint(code, timed_out, err, ws)
    stderr_text = err.text() + ("\n" + hint if hint else "")
    result = {"exitCode": code, "stdout": out.text(), "stderr": stderr_text, "timedOut": timed_out}
    return ToolOutcome(json.dumps(result), suspected_oom=hint is not None)


_HANDLERS = {
    SHELL_EXEC: shell_exec,
    FILES_READ: files_read,
    FILES_WRITE: files_write,
    FILES_LIST: files_list,
}
