"""Booting real sandboxes in tests (bwrap when it works here, process always) and talking to
the runtime inside the way the executor does."""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from sandboxes import cgroup_detect
from sandboxes.bwrap import bwrap_available
from sandboxes.factory import get_provider, prewarm
from sandboxes.limits import SandboxLimits
from sandboxes.process import ProcessProvider
from sandboxes.protocol import RunningSandbox
from sandboxes.standby import STANDBY_ENV
from tests.processes import processes_with

REPO = Path(__file__).resolve().parents[2]
HAS_BWRAP = bwrap_available()
needs_bwrap = pytest.mark.skipif(
    not HAS_BWRAP, reason="bwrap is not installed or cannot create namespaces on this host"
)
HAS_CGROUPS = cgroup_detect.detect()[0] is not None
needs_cgroups = pytest.mark.skipif(not HAS_CGROUPS, reason="no writable cgroup on this host")
HAS_STANDBYS = HAS_CGROUPS and os.environ.get(STANDBY_ENV, "1") != "0"
needs_standbys = pytest.mark.skipif(
    not HAS_STANDBYS, reason=f"no writable cgroup or {STANDBY_ENV}=0: no standbys"
)
PROVIDERS = [
    pytest.param("bwrap", marks=needs_bwrap),
    pytest.param("process"),
]
# (provider, warm): cold = spawned directly, warm = exec'd in a standby already in its cgroup
START_MODES = [
    pytest.param("bwrap", False, marks=needs_bwrap, id="bwrap-cold"),
    pytest.param("bwrap", True, marks=[needs_bwrap, needs_standbys], id="bwrap-warm"),
    pytest.param("process", False, id="process-cold"),
    pytest.param("process", True, marks=needs_standbys, id="process-warm"),
]


def boot(
    name: str, opened: list[RunningSandbox], warm: bool | None = None, **limits: Any
) -> RunningSandbox:
    """Start a sandbox and read its ready line; warm=None: whichever start() picks."""
    env = limits.pop("env", None)
    limits.setdefault("timeout_s", 20.0)
    provider = get_provider(name)
    if warm is False:
        provider = type(provider)(use_standby=False)  # type: ignore[call-arg]
    elif warm:
        assert prewarm(timeout=5.0)
    proc = provider.start(
        runtime_id=f"test-{secrets.token_hex(3)}", limits=SandboxLimits(**limits), env=env
    )
    opened.append(proc)
    if warm is not None:
        assert ("started from a standby" in proc.notes) == warm, proc.notes
    ready = proc.recv(10)
    assert ready is not None and ready["type"] == "ready", ready
    return proc


def send_spec(proc: RunningSandbox, **overrides: Any) -> None:
    spec = {
        "type": "spec",
        "runId": "run_t",
        "model": "fake",
        "tools": [],
        "maxSteps": 10,
        "timeoutS": 60.0,
        "shellTimeoutS": 30,
        "outputCapBytes": 16384,
        "prompt": "test",
    }
    proc.send({**spec, **overrides})
    msg = proc.recv(10)
    assert msg is not None and msg["type"] == "model" and msg["id"] == 1


def request_shell(proc: RunningSandbox, command: str) -> None:
    """Make the fake model ask for shell.exec and approve it (model request id 1)."""
    use = {"type": "tool_use", "id": "tu_1", "name": "shell.exec", "input": {"command": command}}
    proc.send({"type": "model_result", "id": 1, "message": {"content": [use]}})
    tool = proc.recv(10)
    assert tool is not None and tool["type"] == "tool" and tool["id"] == 2
    proc.send({"type": "tool_approved", "id": 2})


def shell(proc: RunningSandbox, command: str, timeout: float = 15) -> dict[str, Any]:
    send_spec(proc)
    request_shell(proc, command)
    done = proc.recv(timeout)
    assert done is not None and done["type"] == "tool_done", done
    return json.loads(done["content"])


def assert_gone(marker: str, within: float = 2.0) -> None:
    end = time.monotonic() + within
    while processes_with(marker) and time.monotonic() < end:
        time.sleep(0.02)
    assert processes_with(marker) == []


def fake_runtime(tmp_path: Path, main_py: str) -> ProcessProvider:
    """A process provider whose "runtime" is `main_py` (protocol errors, deadlines, logs)."""
    linc = tmp_path / "fake_linc"
    linc.mkdir()
    (linc / "__init__.py").write_text("")
    (linc / "__main__.py").write_text(main_py)
    return ProcessProvider(linc_source=linc, stderr_cap=1000)
