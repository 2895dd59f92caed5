"""The bwrap backend's isolation: no network, a read-only system, only linc visible."""

from __future__ import annotations

import socket

import pytest

from sandboxes import isolation
from sandboxes.base import LINC_ARGS
from sandboxes.bwrap import BwrapSandbox, bwrap_info
from sandboxes.protocol import RunningSandbox
from tests.sandboxes.booting import REPO, boot, needs_bwrap, shell

pytestmark = [pytest.mark.e2e, needs_bwrap]


def test_there_is_no_network_inside(opened: list[RunningSandbox]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        proc = boot("bwrap", opened)
        code = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
        result = shell(proc, f'python3 -c "{code}" && echo CONNECTED')
        assert "CONNECTED" not in result["stdout"] and result["exitCode"] != 0
        listener.settimeout(0.0)
        with pytest.raises(BlockingIOError):
            listener.accept()


def test_only_workspace_and_tmp_are_writable(opened: list[RunningSandbox]) -> None:
    proc = boot("bwrap", opened)
    targets = "/usr/x /etc/x /opt/agentexec/agentexec/x /opt/agentexec/agentexec/linc/x /x /root/x"
    script = f"for p in {targets}; do touch $p 2>/dev/null && echo WROTE $p; done; "
    script += "touch /workspace/ok /tmp/ok && echo OK"
    result = shell(proc, script)
    assert result["stdout"] == "OK\n"


def test_the_repo_is_not_visible_inside(opened: list[RunningSandbox]) -> None:
    proc = boot("bwrap", opened)
    script = (
        f"ls {REPO} {REPO}/db.sqlite3 2>/dev/null && echo VISIBLE; "
        "ls -A /opt/agentexec /opt/agentexec/agentexec; "
        "wc -c < /opt/agentexec/agentexec/__init__.py; ls /etc/shadow 2>/dev/null"
    )
    result = shell(proc, script)
    assert "VISIBLE" not in result["stdout"]
    assert result["stdout"].split() == [
        "/opt/agentexec:", "agentexec", "/opt/agentexec/agentexec:", "__init__.py", "linc", "0"
    ]  # fmt: skip


def test_the_workspace_is_size_limited(opened: list[RunningSandbox]) -> None:
    proc = boot("bwrap", opened, workspace_mib=8, memory_mib=256)
    result = shell(proc, "head -c 16M /dev/zero > big || echo FAILED; du -m big")
    assert "FAILED" in result["stdout"] and "No space left" in result["stderr"]


def test_the_runtime_starts_as_linc_args_say(opened: list[RunningSandbox]) -> None:
    proc = boot("bwrap", opened)
    with open(f"/proc/{proc.pid}/cmdline", "rb") as fh:
        argv = fh.read().split(b"\0")[:-1]
    assert argv[-len(LINC_ARGS) :] == [arg.encode() for arg in LINC_ARGS]
    assert argv[-len(LINC_ARGS) - 2] == b"--"  # after bwrap's own options: the interpreter


def test_a_bind_under_tmp_is_mounted_on_the_scratch_tmpfs_not_hidden_by_it() -> None:
    """A venv or checkout installed under /tmp stays visible to one-shot parsers."""
    user = isolation.sandbox_user()
    info = bwrap_info(user)
    assert info is not None
    venv = "/tmp/srv/agentexec/.venv"
    sandbox = BwrapSandbox(info, user, isolation.new_stage(user), [(venv, venv)])

    argv = sandbox.argv(tmpfs=[("/tmp", 64)], cwd="/tmp", env={}, command=["true"])

    tmpfs_at = argv.index("--tmpfs")
    assert argv[tmpfs_at + 1] == "/tmp"
    assert argv.index(venv) > tmpfs_at
