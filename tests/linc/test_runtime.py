"""The linc runtime driven as a plain subprocess by a tiny scripted fake host."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agentexec.linc.local import Workspace, run_local
from agentexec.linc.tools import LOCAL_TOOL_NAMES, LOCAL_TOOLS

LINC_DIR = Path(__file__).resolve().parents[2] / "agentexec" / "linc"


@pytest.fixture(scope="module")
def pythonpath(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only agentexec/__init__.py (empty) and agentexec/linc, as inside a sandbox."""
    root = tmp_path_factory.mktemp("pylib")
    (root / "agentexec").mkdir()
    (root / "agentexec" / "__init__.py").write_text("")
    (root / "agentexec" / "linc").symlink_to(LINC_DIR)
    return root


class FakeHost:
    def __init__(self, pythonpath: Path, workspace: Path) -> None:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        env.update(PYTHONPATH=str(pythonpath), LINC_WORKSPACE=str(workspace))
        self.proc = subprocess.Popen(
            [sys.executable, "-S", "-s", "-B", "-m", "agentexec.linc"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=workspace,
            env=env,
        )
        self.buffer = b""

    def send(self, obj: dict[str, Any]) -> None:
        self.send_raw(json.dumps(obj) + "\n")

    def send_raw(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def recv(self, timeout: float = 10.0) -> dict[str, Any] | None:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                if not sel.select(max(0.0, end - time.monotonic())):
                    raise TimeoutError("linc sent nothing")
                chunk = os.read(fd, 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        obj = json.loads(line)
        assert isinstance(obj, dict)
        return obj

    def expect(self, kind: str, **fields: Any) -> dict[str, Any]:
        msg = self.recv()
        assert msg is not None and msg["type"] == kind, msg
        for key, value in fields.items():
            assert msg[key] == value, (key, msg)
        return msg

    def finish(self) -> tuple[int, str]:
        """Close stdin, wait; (exit code, stderr). Unread protocol lines go to self.leftover."""
        assert self.proc.stdin is not None and self.proc.stderr is not None
        assert self.proc.stdout is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=10)
        err = self.proc.stderr.read().decode()
        self.leftover = self.buffer + self.proc.stdout.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code, err


def spec(**overrides: Any) -> dict[str, Any]:
    base = {
        "type": "spec",
        "runId": "run_test",
        "model": "fake-model",
        "tools": [],
        "maxSteps": 5,
        "timeoutS": 30.0,
        "shellTimeoutS": 10,
        "outputCapBytes": 4096,
        "prompt": "do the thing",
    }
    return {**base, **overrides}


def text_reply(rid: int, text: str) -> dict[str, Any]:
    message = {"content": [{"type": "text", "text": text}], "stop_reason": "end_turn"}
    return {"type": "model_result", "id": rid, "message": message}


def tool_reply(rid: int, *uses: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    blocks = [{"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in uses]
    return {
        "type": "model_result",
        "id": rid,
        "message": {"content": blocks, "stop_reason": "tool_use"},
    }


@pytest.fixture
def host(pythonpath: Path, tmp_path: Path) -> Any:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    h = FakeHost(pythonpath, workspace)
    yield h
    if h.proc.poll() is None:
        h.proc.kill()
        h.proc.wait()


def start(host: FakeHost, **spec_overrides: Any) -> dict[str, Any]:
    ready = host.expect("ready")
    assert ready["pid"] == host.proc.pid and ready["python"].count(".") == 2
    host.send(spec(**spec_overrides))
    return host.expect("model", id=1)


def run_sandbox_tool(host: FakeHost, rid: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Model asks for a sandbox tool (request id rid), host approves: returns the tool_done."""
    host.send(tool_reply(rid, ("tu_1", name, args)))
    host.expect("tool", id=rid + 1, toolUseId="tu_1", name=name, input=args)
    host.send({"type": "tool_approved", "id": rid + 1})
    done = host.expect("tool_done", id=rid + 1)
    assert isinstance(done["durationMs"], int)
    return done


def test_no_tool_answer_is_the_result(host: FakeHost) -> None:
    model = start(host)
    assert model["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "do the thing"}]}
    ]
    host.send(text_reply(1, "the answer"))
    host.expect("result", output="the answer")
    code, err = host.finish()
    assert code == 0
    assert "linc: booted" in err and "linc: model turn 1" in err


def test_shell_exec_round_trip(host: FakeHost, tmp_path: Path) -> None:
    start(host)
    done = run_sandbox_tool(host, 1, "shell.exec", {"command": "echo hi > f.txt; cat f.txt"})
    result = json.loads(done["content"])
    assert done["is_error"] is False
    assert result == {"exitCode": 0, "stdout": "hi\n", "stderr": "", "timedOut": False}
    assert (tmp_path / "ws" / "f.txt").read_text() == "hi\n"
    model = host.expect("model", id=3)
    last = model["messages"][-1]
    assert last["role"] == "user"
    assert last["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "tu_1",
            "content": done["content"],
            "is_error": False,
        }
    ]
    host.send(text_reply(3, "done"))
    host.expect("result", output="done")
    code, err = host.finish()
    assert code == 0 and "shell.exec exit=0" in err


def test_host_tool_round_trip(host: FakeHost) -> None:
    start(host)
    host.send(tool_reply(1, ("tu_a", "vault.search", {"q": "x"}), ("tu_b", "vault.get", {})))
    host.expect("tool", id=2, toolUseId="tu_a", name="vault.search", input={"q": "x"})
    host.send({"type": "tool_result", "id": 2, "content": "found 3", "is_error": False})
    host.expect("tool", id=3, toolUseId="tu_b")
    host.send({"type": "tool_result", "id": 3, "content": "not allowed", "is_error": True})
    model = host.expect("model", id=4)
    assert model["messages"][1]["role"] == "assistant"
    assert [b["content"] for b in model["messages"][-1]["content"]] == ["found 3", "not allowed"]
    assert [b["is_error"] for b in model["messages"][-1]["content"]] == [False, True]
    host.send(text_reply(4, "ok"))
    host.expect("result", output="ok")
    assert host.finish()[0] == 0


def test_unknown_blocks_are_kept_and_text_is_concatenated(host: FakeHost) -> None:
    start(host)
    blocks = [
        {"type": "thinking", "thinking": "hmm"},
        {"type": "text", "text": "a"},
        {"type": "text", "text": "b"},
    ]
    host.send({"type": "model_result", "id": 1, "message": {"content": blocks}})
    host.expect("result", output="ab")
    assert host.finish()[0] == 0


def test_path_escape_refused(host: FakeHost, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret")
    (tmp_path / "ws" / "link").symlink_to(tmp_path / "secret.txt")
    start(host)
    done = run_sandbox_tool(host, 1, "files.read", {"path": "../secret.txt"})
    assert done["is_error"] is True and "outside the workspace" in done["content"]
    host.expect("model", id=3)
    host.send(tool_reply(3, ("tu_1", "files.read", {"path": "link"})))
    host.expect("tool", id=4)
    host.send({"type": "tool_approved", "id": 4})
    done = host.expect("tool_done", id=4, is_error=True)
    assert "s3cret" not in done["content"]
    host.expect("model", id=5)
    host.send(text_reply(5, "refused"))
    host.expect("result")
    assert host.finish()[0] == 0


def test_max_steps_is_fatal(host: FakeHost) -> None:
    start(host, maxSteps=2)
    host.send(tool_reply(1, ("tu_1", "host.tool", {})))
    host.expect("tool", id=2)
    host.send({"type": "tool_result", "id": 2, "content": "again", "is_error": False})
    host.expect("model", id=3)
    host.send(tool_reply(3, ("tu_2", "host.tool", {})))
    host.expect("fatal", error="step limit reached: maxSteps=2")
    assert host.finish()[0] == 1


def test_model_error_is_fatal(host: FakeHost) -> None:
    start(host)
    host.send({"type": "error", "id": 1, "error": "upstream 529 overloaded"})
    host.expect("fatal", error="model error: upstream 529 overloaded")
    assert host.finish()[0] == 1


def test_bad_json_from_host_is_fatal(host: FakeHost) -> None:
    start(host)
    host.send_raw("this is not json\n")
    fatal = host.expect("fatal")
    assert fatal["error"].startswith("invalid JSON from host")
    assert host.finish()[0] == 1


def test_reply_for_wrong_id_is_fatal(host: FakeHost) -> None:
    start(host)
    host.send(text_reply(7, "late"))
    assert "waiting for id 1" in host.expect("fatal")["error"]
    assert host.finish()[0] == 1


def test_bad_spec_is_fatal(host: FakeHost) -> None:
    host.expect("ready")
    host.send(spec(maxSteps="many"))
    assert "maxSteps" in host.expect("fatal")["error"]
    assert host.finish()[0] == 1


def test_stdin_eof_exits_quietly(host: FakeHost) -> None:
    start(host)
    code, err = host.finish()
    assert code == 1 and host.leftover == b""  # no fatal line: the host is gone anyway
    assert "stdin closed" in err


def test_shell_timeout_kills_the_group(host: FakeHost) -> None:
    start(host)
    args = {"command": "sleep 30 & sleep 30; echo never", "timeoutSeconds": 1}
    started = time.monotonic()
    done = run_sandbox_tool(host, 1, "shell.exec", args)
    assert time.monotonic() - started < 5
    result = json.loads(done["content"])
    assert result["timedOut"] is True and result["exitCode"] == -9
    assert "out of memory" not in result["stderr"]


def test_invalid_tool_input_is_an_error_result(host: FakeHost) -> None:
    start(host)
    done = run_sandbox_tool(host, 1, "shell.exec", {"command": 42})
    assert done["is_error"] is True and "'command' must be a string" in done["content"]
    host.expect("model", id=3)
    host.send(tool_reply(3, ("tu_x", "shell.exec", {"timeoutSeconds": 1})))
    host.expect("tool", id=4)
    host.send({"type": "tool_approved", "id": 4})
    assert "missing required field 'command'" in host.expect("tool_done", is_error=True)["content"]


# -- the local tools, called directly ----------------------------------------------------------


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    root = tmp_path / "ws"
    root.mkdir()
    deadline = time.monotonic() + 30
    return Workspace(str(root.resolve()), shell_timeout_s=5, output_cap=64, deadline=deadline)


def test_files_write_read_list(ws: Workspace) -> None:
    wrote = run_local("files.write", {"path": "a/b/c.txt", "content": "héllo"}, ws)
    assert not wrote.is_error and json.loads(wrote.content)["bytesWritten"] == 6
    assert run_local("files.read", {"path": "a/b/c.txt"}, ws).content == "héllo"
    listing = json.loads(run_local("files.list", {"path": "a"}, ws).content)
    assert listing["entries"] == [
        {"name": "b", "type": "dir", "size": listing["entries"][0]["size"]}
    ]
    root_listing = json.loads(run_local("files.list", {}, ws).content)
    assert [e["name"] for e in root_listing["entries"]] == ["a"]


def test_paths_are_confined(ws: Workspace, tmp_path: Path) -> None:
    inside_abs = os.path.join(ws.root, "x.txt")
    assert not run_local("files.write", {"path": inside_abs, "content": "1"}, ws).is_error
    assert not run_local("files.read", {"path": "sub/../x.txt"}, ws).is_error
    for bad in ("../x", "/etc/passwd", "a/../../x", tmp_path.as_posix()):
        outcome = run_local("files.write", {"path": bad, "content": "x"}, ws)
        assert outcome.is_error and "outside the workspace" in outcome.content, bad
    os.symlink("/etc", os.path.join(ws.root, "etc"))
    assert run_local("files.list", {"path": "etc"}, ws).is_error
    assert run_local("files.write", {"path": "etc/evil", "content": "x"}, ws).is_error


def test_output_is_capped_with_marker(ws: Workspace) -> None:
    outcome = run_local("shell.exec", {"command": "head -c 1000 /dev/zero | tr '\\0' x"}, ws)
    result = json.loads(outcome.content)
    assert result["stdout"] == "x" * 64 + "\n[... truncated 936 bytes ...]"
    run_local("files.write", {"path": "big", "content": "y" * 100}, ws)
    assert run_local("files.read", {"path": "big"}, ws).content.endswith(
        "[... truncated 36 bytes ...]"
    )


def test_shell_exit_codes_and_bad_input(ws: Workspace) -> None:
    result = json.loads(run_local("shell.exec", {"command": "echo err >&2; exit 3"}, ws).content)
    assert result["exitCode"] == 3 and result["stderr"] == "err\n"
    killed = json.loads(run_local("shell.exec", {"command": "kill -9 $$"}, ws).content)
    assert killed["exitCode"] == -9 and "out of memory?" in killed["stderr"]
    assert run_local("shell.exec", {"command": "true", "timeoutSeconds": "5"}, ws).is_error
    assert run_local("shell.exec", {"command": "true", "timeoutSeconds": 0}, ws).is_error
    assert run_local("nope", {}, ws).is_error


def test_timeout_applies_after_the_command_closed_its_pipes(ws: Workspace) -> None:
    started = time.monotonic()
    args = {"command": "exec >&- 2>&-; sleep 30", "timeoutSeconds": 1}
    result = json.loads(run_local("shell.exec", args, ws).content)
    assert result["timedOut"] is True and time.monotonic() - started < 3


def test_background_job_holding_pipes_is_reaped(ws: Workspace) -> None:
    started = time.monotonic()
    outcome = run_local("shell.exec", {"command": "sleep 30 & echo started"}, ws)
    assert json.loads(outcome.content)["stdout"] == "started\n"
    assert time.monotonic() - started < 3


def test_local_tool_schemas() -> None:
    assert {"shell.exec", "files.read", "files.write", "files.list"} == LOCAL_TOOL_NAMES
    for tool in LOCAL_TOOLS:
        assert set(tool) == {"name", "description", "input_schema"}
        assert tool["input_schema"]["type"] == "object"
