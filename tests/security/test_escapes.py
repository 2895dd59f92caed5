"""The escape matrix, through real runs: POST /agent/v1/execute with local/scripted and shell.exec
in the real sandbox, as an attacker's agent would try it. The service runs as root here; the
sandbox must not be root on the host, must not change the host, and must not reach the kernel
interfaces the seccomp filter denies."""

import json
import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from runs.models import RunStep
from tests.processes import processes_with

EXECUTE = "/agent/v1/execute"
PROBES = (Path(__file__).parent / "probes.py").read_text()
HOST_FILES = ("/proc/sys/vm/stat_interval", "/proc/sys/kernel/core_pattern")
pytestmark = pytest.mark.e2e


@pytest.fixture
def bwrap_only():
    from sandboxes import services

    if services.provider().name != "bwrap":
        pytest.skip("needs the bwrap provider (namespaces, seccomp)")


def run_shell(member, *commands, files=None, **body):
    steps = [
        {"tool": "files.write", "input": {"path": p, "content": c}}
        for p, c in (files or {}).items()
    ]
    steps += [{"tool": "shell.exec", "input": {"command": c}} for c in commands]
    prompt = json.dumps({"steps": steps, "final": "ran"})
    response = member.client.post(
        EXECUTE, {"prompt": prompt, "model": "local/scripted", **body}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def tool_results(body):
    steps = RunStep.objects.filter(run_id=body["runId"], type="tool_result").order_by("sequence")
    return [s.tool_output for s in steps]


def read_host(path):
    return Path(path).read_text()


_PROBED: list = []


@pytest.fixture
def probed(alice):
    """One run that tries every escape, shared by the tests below (one boot keeps it fast)."""
    if not _PROBED:
        before = {path: read_host(path) for path in HOST_FILES}
        body = run_shell(alice, "python3 probes.py", files={"probes.py": PROBES})
        report = json.loads(tool_results(body)[-1]["stdout"])
        after = {path: read_host(path) for path in HOST_FILES}
        _PROBED.append((body, report, before, after))
    return _PROBED[0]


def test_the_probe_run_completes_on_bwrap(probed, bwrap_only):
    body, report, _before, _after = probed
    assert body["status"] == "completed", body
    assert body["provider"] == "bwrap"
    assert report["pipes"] == "ok\n"


@pytest.mark.parametrize(
    "probe",
    [
        "proc_sys_vm_stat_interval",
        "proc_sys_kernel_core_pattern",
        "proc_sysrq_trigger",
        "proc_kcore_read",
        "sys_write",
    ],
)
def test_host_kernel_settings_cannot_be_written_or_read(probed, bwrap_only, probe):
    _body, report, _before, _after = probed
    assert report["results"][probe].startswith("denied"), report["results"]


def test_host_sysctls_are_unchanged_after_the_attempt(probed, bwrap_only):
    _body, _report, before, after = probed
    assert before == after


@pytest.mark.parametrize(
    "probe",
    [
        "unshare_user",
        "unshare_root",
        "unshare_syscall",
        "mount_tmpfs",
        "mount_syscall",
        "ptrace_attach_parent",
        "bpf",
        "keyctl",
        "add_key",
        "socket_inet",
        "socket_inet6",
        "socket_netlink",
    ],
)
def test_each_denied_syscall_fails(probed, bwrap_only, probe):
    _body, report, _before, _after = probed
    assert report["results"][probe].startswith("denied"), report["results"]


def test_the_seccomp_filter_answers_eperm_not_a_missing_file(probed, bwrap_only):
    _body, report, _before, _after = probed
    for probe in ("bpf", "keyctl", "add_key", "mount_syscall", "socket_inet", "socket_inet6"):
        assert report["results"][probe] == "denied: EPERM", (probe, report["results"])


def test_the_sandbox_is_not_root_inside_or_on_the_host(probed, bwrap_only):
    body, report, _before, _after = probed
    assert os.geteuid() == 0, "this matrix is meant to run with the service as root"
    assert report["uid"] == 65534
    inside, _outside, _count = report["uid_map"]
    assert inside == "65534" and report["uid_map"][:2] != ["0", "0"]
    assert "runs as host uid 65534 gid 65534" in body["logs"]["runner"]
    assert "seccomp: EPERM for" in body["logs"]["runner"]


def test_the_sandboxed_processes_run_as_an_unprivileged_host_uid(alice):
    """From the host: the real uid of a command running in the sandbox."""
    marker = f"{40 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000}"
    seen: dict[int, str] = {}
    done = threading.Event()

    def watch():
        while not done.is_set() and not seen:
            for pid in processes_with(f"sleep {marker}"):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                seen[pid] = next(line for line in status.splitlines() if line.startswith("Uid:"))
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        body = run_shell(alice, f"timeout 1 sleep {marker}; echo done")
    finally:
        done.set()
        watcher.join()
    assert body["status"] == "completed", body
    assert seen, "the sandboxed sleep was never seen from the host"
    for uid_line in seen.values():
        real, effective, saved, fs = uid_line.split()[1:]
        assert real == effective == saved == fs == "65534", uid_line


FORK_BOMB = """python3 -c '
import os, time
pids = []
try:
    for _ in range(5000):
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        pids.append(pid)
except OSError as exc:
    print("stopped after", len(pids), exc.strerror)
for pid in pids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
'"""


def test_a_fork_bomb_is_stopped_by_the_process_limits(alice):
    body = run_shell(alice, FORK_BOMB, "echo still-alive")
    assert body["status"] == "completed", body
    first, second = tool_results(body)
    assert first["stdout"].startswith("stopped after"), first
    assert int(first["stdout"].split()[2]) < 128
    assert second["stdout"] == "still-alive\n"
