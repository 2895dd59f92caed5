"""Standbys: a process already in a fresh cgroup, exec'd into the next sandbox."""

from __future__ import annotations

import pytest

from sandboxes import standby
from sandboxes.factory import get_provider, prewarm
from sandboxes.limits import SandboxLimits
from sandboxes.protocol import RunningSandbox
from tests.sandboxes.booting import needs_standbys


@pytest.mark.e2e
@needs_standbys
def test_it_starts_the_next_sandbox_in_a_prewarmed_standby(opened: list[RunningSandbox]) -> None:
    assert prewarm(timeout=5.0)
    proc = get_provider("process").start(runtime_id="warm", limits=SandboxLimits(memory_mib=128))
    opened.append(proc)
    assert "started from a standby" in proc.notes
    assert any(note.startswith("memory 128 MiB") for note in proc.notes)  # limits set on claim
    ready = proc.recv(10)
    assert ready is not None and ready["type"] == "ready"


def test_it_keeps_no_standby_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(standby.STANDBY_ENV, "0")
    assert prewarm(timeout=0.5) is False
