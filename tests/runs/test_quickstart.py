"""The README's first command: `manage.py quickstart`, run as a user runs it."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import processes_with

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quickstart(tmp_path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "agentexec.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "quickstart", *args],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def test_no_serve_prints_only_what_works_once_the_server_has_stopped(tmp_path):
    port = free_port()
    proc = quickstart(tmp_path, "--no-serve", "--port", str(port))
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    assert '"status": "completed"' in out
    assert "API key (shown once): ae_" in out
    assert "curl" not in out and "password '" not in out
    assert not processes_with(f"runserver 127.0.0.1:{port}")


def test_sigterm_stops_the_server_and_the_worker(tmp_path):
    port = free_port()
    proc = quickstart(tmp_path, "--port", str(port))
    assert proc.stdout is not None
    deadline = time.monotonic() + 180
    for line in proc.stdout:
        if "Serving until Ctrl-C." in line or time.monotonic() > deadline:
            break
    children = children_of(proc.pid)
    assert len(children) == 2  # runserver and qcluster
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    time.sleep(0.5)
    assert not processes_with(f"runserver 127.0.0.1:{port}")
    assert not [pid for pid in children if os.path.exists(f"/proc/{pid}")]


def children_of(parent: int) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        if int(data[data.rfind(b")") + 2 :].split()[1]) == parent:
            found.append(int(pid))
    return found
