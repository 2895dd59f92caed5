"""The process backend: no namespaces, loudly flagged, and its temp dirs go with the sandbox."""

from __future__ import annotations

import os
import time

import pytest

from sandboxes.protocol import RunningSandbox
from tests.sandboxes.booting import boot, shell

pytestmark = pytest.mark.e2e


def test_it_warns_that_nothing_is_isolated(opened: list[RunningSandbox]) -> None:
    proc = boot("process", opened)
    assert any("WARNING: process provider: no namespaces" in note for note in proc.notes)
    assert "WARNING: NO SECCOMP FILTER (process provider)" in proc.notes


def test_its_workspace_is_removed_after_close(opened: list[RunningSandbox]) -> None:
    proc = boot("process", opened)
    workspace = shell(proc, "pwd")["stdout"].strip()
    assert os.path.basename(workspace) == "workspace" and os.path.isdir(workspace)
    proc.close()
    root = os.path.dirname(workspace)
    end = time.monotonic() + 10  # the janitor removes it off the caller's path
    while os.path.exists(root) and time.monotonic() < end:
        time.sleep(0.02)
    assert not os.path.exists(root)
