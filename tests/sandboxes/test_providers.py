"""Sandbox providers: boot real sandboxes (bwrap when it works here, process always)."""

from __future__ import annotations

import json
import os
import secrets
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sandboxes import cgroups
from sandboxes.providers import (
    STANDBY_ENV,
    ProcessProvider,
    ProtocolError,
    SandboxLimits,
    SandboxProcess,
    WallClockTimeout,
    bwrap_available,
    get_provider,
    kill_process_group,
    prewarm,
)
from tests.processes import processes_with

REPO = Path(__file__).resolve().parents[2]
HAS_BWRAP = bwrap_available()
needs_bwrap = pytest.mark.skipif(
    not HAS_BWRAP, reason="bwrap is not installed or cannot create namespaces on this host"
)
HAS_CGROUPS = cgroups.detect()[0] is not None
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
pytestmark = pytest.mark.e2e


@pytest.fixture
def opened() -> Iterator[list[SandboxProcess]]:
    """Sandboxes to close after the test, whatever happens."""
    procs: list[SandboxProcess] = []
    yield procs
    for proc in procs:
        proc.close()


def boot(
    name: str, opened: list[SandboxProcess], warm: bool | None = None, **limits: Any
) -> SandboxProcess:
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


def send_spec(proc: SandboxProcess, **overrides: Any) -> None:
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


def request_shell(proc: SandboxProcess, command: str) -> None:
    """Make the fake model ask for shell.exec and approve it (model request id 1)."""
    use = {"type": "tool_use", "id": "tu_1", "name": "shell.exec", "input": {"command": command}}
    proc.send({"type": "model_result", "id": 1, "message": {"content": [use]}})
    tool = proc.recv(10)
    assert tool is not None and tool["type"] == "tool" and tool["id"] == 2
    proc.send({"type": "tool_approved", "id": 2})


def shell(proc: SandboxProcess, command: str, timeout: float = 15) -> dict[str, Any]:
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


# -- behaviour shared by both providers --------------------------------------------------------


@pytest.mark.parametrize(("name", "warm"), START_MODES)
def test_boots_and_answers(name: str, warm: bool, opened: list[SandboxProcess]) -> None:
    proc = boot(name, opened, warm)
    send_spec(proc)
    proc.send(
        {"type": "model_result", "id": 1, "message": {"content": [{"type": "text", "text": "hi"}]}}
    )
    assert proc.recv(10) == {"type": "result", "output": "hi"}
    assert proc.recv(10) is None
    assert proc.wait(5) == 0
    stats = proc.close()
    assert stats.exit_code == 0 and stats.boot_ms is not None and not stats.timed_out
    assert stats.peak_memory_bytes and stats.cpu_time_ms is not None and not stats.oom_killed
    assert "linc: booted" in proc.stderr_text()
    assert proc.close() is stats  # idempotent
    warning = any("WARNING: process provider: no namespaces" in n for n in proc.notes)
    assert warning == (name == "process")


@pytest.mark.parametrize("name", PROVIDERS)
def test_env_holds_nothing_from_the_host(
    name: str, opened: list[SandboxProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SECRET_KEY", "django-insecure-leak")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-leak")
    monkeypatch.setenv("DATABASE_URL", "postgres://leak")
    proc = boot(name, opened, env={"RUN_ID": "run_123"})
    out = shell(proc, "env")["stdout"]
    assert "leak" not in out
    names = {line.split("=", 1)[0] for line in out.splitlines()}
    assert names <= {"PATH", "HOME", "LANG", "PYTHONPATH", "LINC_WORKSPACE", "LINC_MEMORY_MIB",
                     "TMPDIR", "RUN_ID", "PWD", "SHLVL", "_", "LINC_CLI_SOCKET"}  # fmt: skip
    assert "RUN_ID=run_123" in out


@pytest.mark.parametrize(("name", "warm"), START_MODES)
def test_memory_hog_is_oom_killed(name: str, warm: bool, opened: list[SandboxProcess]) -> None:
    proc = boot(name, opened, warm, memory_mib=64)
    result = shell(proc, 'python3 -c \'b = b"x" * (256 << 20); print("survived")\'')
    assert "survived" not in result["stdout"]
    assert result["exitCode"] != 0 and "out of memory" in result["stderr"]
    assert proc.close().oom_killed is True


@pytest.mark.parametrize("name", PROVIDERS)
def test_rlimit_fallback_without_cgroups(name: str, opened: list[SandboxProcess]) -> None:
    provider = type(get_provider(name))(use_cgroups=False)  # type: ignore[call-arg]
    proc = provider.start(runtime_id="nocg", limits=SandboxLimits(memory_mib=64, timeout_s=20))
    opened.append(proc)
    assert any("via RLIMIT_AS" in note for note in proc.notes)
    assert proc.recv(10) is not None
    result = shell(proc, 'python3 -c \'b = b"x" * (256 << 20); print("survived")\'')
    assert "survived" not in result["stdout"] and "MemoryError" in result["stderr"]
    assert proc.close().oom_killed is True  # from the runtime's diagnosis


@pytest.mark.parametrize("name", PROVIDERS)
def test_wall_clock_timeout_then_kill_leaves_nothing(
    name: str, opened: list[SandboxProcess]
) -> None:
    marker = f"agentexec-test-{secrets.token_hex(4)}"
    started = time.monotonic()
    proc = boot(name, opened, timeout_s=1.0)
    send_spec(proc)
    request_shell(proc, f"sleep 30; : {marker}")
    with pytest.raises(TimeoutError) as excinfo:
        proc.recv(30)
    assert isinstance(excinfo.value, WallClockTimeout)
    assert time.monotonic() - started < 1.5
    assert processes_with(marker)  # the command was running...
    proc.kill()
    assert_gone(marker)  # ...and kill() took it down with everything else
    stats = proc.close()
    assert stats.timed_out is True and stats.exit_code != 0


@pytest.mark.parametrize(("name", "warm"), START_MODES)
def test_kill_from_another_thread(name: str, warm: bool, opened: list[SandboxProcess]) -> None:
    marker = f"agentexec-test-{secrets.token_hex(4)}"
    proc = boot(name, opened, warm)
    send_spec(proc)
    request_shell(proc, f"sleep 30; : {marker}")
    killer = threading.Timer(0.3, proc.kill)
    killer.start()
    started = time.monotonic()
    assert proc.recv(10) is None  # EOF: the runtime died under the blocked reader
    assert time.monotonic() - started < 3
    killer.join()
    assert_gone(marker)
    assert proc.close().exit_code != 0


@pytest.mark.parametrize("name", PROVIDERS)
def test_kill_process_group_by_pid_only(name: str, opened: list[SandboxProcess]) -> None:
    marker = f"agentexec-test-{secrets.token_hex(4)}"
    proc = boot(name, opened)
    send_spec(proc)
    request_shell(proc, f"sleep 30; : {marker}")
    time.sleep(0.2)
    if HAS_CGROUPS:  # found from the pid alone, as another host process would
        cgroup = cgroups.cgroup_of_pid(proc.pid)
        assert cgroup is not None and proc.pid in cgroup.pids()
    kill_process_group(proc.pid)
    assert proc.recv(10) is None
    assert_gone(marker)
    kill_process_group(proc.pid)  # gone already (zombie or reaped): no error


def test_kill_process_group_refuses_unrelated_pids() -> None:
    bystander = subprocess.Popen(["sleep", "5"], start_new_session=True)
    try:
        kill_process_group(bystander.pid)
        time.sleep(0.05)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    kill_process_group(bystander.pid)  # reaped and gone: no error


@pytest.mark.parametrize("name", PROVIDERS)
def test_cpu_affinity_applied(name: str, opened: list[SandboxProcess]) -> None:
    proc = boot(name, opened, cpu=1)
    assert shell(proc, "nproc")["stdout"].strip() == "1"


@needs_bwrap
def test_survives_the_thread_that_started_it(opened: list[SandboxProcess]) -> None:
    # bwrap --die-with-parent is PR_SET_PDEATHSIG: it follows the forking *thread*.
    started: list[SandboxProcess] = []
    starter = threading.Thread(target=lambda: started.append(boot("bwrap", opened)))
    starter.start()
    starter.join()
    time.sleep(0.2)
    proc = started[0]
    assert proc.wait(0) is None
    assert shell(proc, "echo alive")["stdout"] == "alive\n"


# -- bwrap isolation ---------------------------------------------------------------------------


@needs_bwrap
def test_no_network_inside_bwrap(opened: list[SandboxProcess]) -> None:
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


@needs_bwrap
def test_only_workspace_and_tmp_are_writable(opened: list[SandboxProcess]) -> None:
    proc = boot("bwrap", opened)
    targets = "/usr/x /etc/x /opt/agentexec/agentexec/x /opt/agentexec/agentexec/linc/x /x /root/x"
    script = f"for p in {targets}; do touch $p 2>/dev/null && echo WROTE $p; done; "
    script += "touch /workspace/ok /tmp/ok && echo OK"
    result = shell(proc, script)
    assert result["stdout"] == "OK\n"


@needs_bwrap
def test_repo_is_not_visible_inside_bwrap(opened: list[SandboxProcess]) -> None:
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


@needs_bwrap
def test_workspace_is_size_limited(opened: list[SandboxProcess]) -> None:
    proc = boot("bwrap", opened, workspace_mib=8, memory_mib=256)
    result = shell(proc, "head -c 16M /dev/zero > big || echo FAILED; du -m big")
    assert "FAILED" in result["stdout"] and "No space left" in result["stderr"]


def test_fsize_limit_applies(opened: list[SandboxProcess]) -> None:
    proc = boot("process", opened, fsize_mib=1)
    result = shell(proc, "head -c 2M /dev/zero > big; echo rc=$?; wc -c < big")
    assert "rc=0" not in result["stdout"] and result["stdout"].split()[-1] == str(1 << 20)


# -- protocol errors, deadlines, logs (a fake runtime via linc_source) -------------------------


def fake_runtime(tmp_path: Path, main_py: str) -> ProcessProvider:
    linc = tmp_path / "fake_linc"
    linc.mkdir()
    (linc / "__init__.py").write_text("")
    (linc / "__main__.py").write_text(main_py)
    return ProcessProvider(linc_source=linc, stderr_cap=1000)


def test_non_json_line_is_a_protocol_error(tmp_path: Path, opened: list[SandboxProcess]) -> None:
    code = "import sys\nprint('{\"type\":\"ready\"}')\nprint('Traceback: boom', flush=True)\n"
    proc = fake_runtime(tmp_path, code).start(runtime_id="fake", limits=SandboxLimits())
    opened.append(proc)
    assert proc.recv(10) == {"type": "ready"}
    with pytest.raises(ProtocolError):
        proc.recv(10)
    assert any("Traceback: boom" in note for note in proc.notes)


def test_stderr_is_capped_with_marker(tmp_path: Path, opened: list[SandboxProcess]) -> None:
    code = "import sys\nsys.stderr.write('a' * 600 + 'b' * 5000 + 'z' * 600)\n"
    proc = fake_runtime(tmp_path, code).start(runtime_id="fake", limits=SandboxLimits())
    opened.append(proc)
    assert proc.recv(10) is None
    proc.close()
    text = proc.stderr_text()
    assert text.startswith("a" * 500) and text.endswith("z" * 500)
    assert "[... truncated 5200 bytes ...]" in text


def test_send_and_recv_respect_the_deadline(tmp_path: Path, opened: list[SandboxProcess]) -> None:
    code = "import time\ntime.sleep(30)\n"  # never reads stdin, never writes
    limits = SandboxLimits(timeout_s=0.5)
    proc = fake_runtime(tmp_path, code).start(runtime_id="fake", limits=limits)
    opened.append(proc)
    with pytest.raises(TimeoutError) as excinfo:
        proc.recv(0.1)
    assert not isinstance(excinfo.value, WallClockTimeout)  # a plain per-call timeout
    started = time.monotonic()
    with pytest.raises(WallClockTimeout):
        proc.send({"type": "spec", "prompt": "x" * (1 << 20)})  # the pipe fills, nobody reads
    assert time.monotonic() - started < 1.0
    assert proc.close().timed_out is True


def test_get_provider() -> None:
    assert get_provider("process").name == "process"
    assert get_provider("auto").name == ("bwrap" if HAS_BWRAP else "process")
    with pytest.raises(ValueError):
        get_provider("docker")
    with pytest.raises(ValueError):
        ProcessProvider().start(runtime_id="x", limits=SandboxLimits(), env={"PYTHONHOME": "/"})


# -- cgroup plumbing on fake trees -------------------------------------------------------------


def test_parse_proc_files() -> None:
    mountinfo = (
        "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "32 25 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "33 25 8:1 / / rw - ext4 /dev/vda rw\n"
    )
    mounts = cgroups.parse_mountinfo(mountinfo)
    assert [(m.fstype, m.point) for m in mounts] == [
        ("cgroup2", "/sys/fs/cgroup"),
        ("cgroup", "/sys/fs/cgroup/memory"),
        ("cgroup", "/sys/fs/cgroup/cpu,cpuacct"),
    ]
    paths = cgroups.parse_proc_cgroup(
        "4:memory:/svc\n2:cpu,cpuacct:/docker/abc/x\n0::/user.slice\n"
    )
    assert paths == {"memory": "/svc", "cpu": "/docker/abc/x", "cpuacct": "/docker/abc/x",
                     "": "/user.slice"}  # fmt: skip
    assert cgroups.hierarchy_dir(mounts[2], paths["cpu"]) == "/sys/fs/cgroup/cpu,cpuacct/x"
    assert (
        cgroups.hierarchy_dir(mounts[1], "/svc/agentexec") == "/sys/fs/cgroup/memory/svc/agentexec"
    )


def test_v2_limits_and_stats_on_a_fake_tree(tmp_path: Path) -> None:
    manager = cgroups.V2Manager(str(tmp_path), {"memory", "cpu", "pids"})
    cg = manager.create("sbx")
    sbx = tmp_path / "sbx"
    for name in ("memory.max", "memory.swap.max", "cpu.max", "pids.max"):
        (sbx / name).write_text("")  # cgroupfs files exist already and need no truncation
    note = cg.apply(cgroups.CgroupRequest(memory_bytes=64 << 20, cpu_cores=2, pids_max=50))
    assert note.startswith("memory 64 MiB, no swap, cpu quota 2 core(s), pids.max 50 via cgroup v2")
    assert (sbx / "memory.max").read_text() == str(64 << 20)
    assert (sbx / "memory.swap.max").read_text() == "0"
    assert (sbx / "cpu.max").read_text() == "200000 100000"
    assert (sbx / "pids.max").read_text() == "50"
    (sbx / "cpu.stat").write_text("usage_usec 2000\nuser_usec 1\n")
    cg.reset_counters()  # a standby's own usage does not count
    (sbx / "memory.peak").write_text("12345\n")
    (sbx / "cpu.stat").write_text("usage_usec 44000\nuser_usec 1\n")
    (sbx / "memory.events").write_text("low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n")
    assert cg.stats() == cgroups.CgroupStats(12345, 42, oom_kills=1, memory_failcnt=7)


def test_stale_cgroups_of_dead_hosts_are_removed(tmp_path: Path) -> None:
    mine = cgroups.sandbox_cgroup_name("run/1 x")
    assert mine.startswith(f"run_1_x.{os.getpid()}.")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"run_2.{dead.pid}.abcdef"
    for name in (mine, stale, "not-ours", f"busy.{dead.pid}.123456"):
        (tmp_path / name).mkdir()
    (tmp_path / f"busy.{dead.pid}.123456" / "f").touch()  # rmdir fails: "still in use"
    cgroups._remove_stale(str(tmp_path))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([mine, "not-ours", f"busy.{dead.pid}.123456"])


def test_sandbox_cgroup_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cgroups.ENV_PARENT, raising=False)
    assert cgroups.is_sandbox_path("/system.slice/worker.service/agentexec/run_1-abc123")
    assert cgroups.is_sandbox_path("/agentexec/standby-1234")
    assert not cgroups.is_sandbox_path("/system.slice/worker.service")
    assert not cgroups.is_sandbox_path("/agentexec")
    monkeypatch.setenv(cgroups.ENV_PARENT, "/sandboxes.slice")
    assert cgroups.is_sandbox_path("/sandboxes.slice/run_1-abc123")
    assert not cgroups.is_sandbox_path("/x/agentexec/run_1-abc123")


def test_v1_stats_on_a_fake_tree(tmp_path: Path) -> None:
    for controller in ("memory", "cpuacct"):
        (tmp_path / controller).mkdir()
    (tmp_path / "memory" / "memory.max_usage_in_bytes").write_text("999\n")
    (tmp_path / "memory" / "memory.failcnt").write_text("3\n")
    (tmp_path / "memory" / "memory.oom_control").write_text(
        "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n"
    )
    (tmp_path / "cpuacct" / "cpuacct.usage").write_text("5000000\n")
    paths = {c: str(tmp_path / c) for c in ("memory", "cpuacct")}
    stats = cgroups.CgroupV1(name="x", paths=paths).stats()
    assert stats == cgroups.CgroupStats(999, 5, oom_kills=2, memory_failcnt=3)


# -- boot time (prints only) -------------------------------------------------------------------


def _boot_once(name: str, warm: bool) -> int:
    provider = get_provider(name)
    if warm:
        assert prewarm(timeout=5.0)  # steady state: a standby is waiting
    else:
        provider = type(provider)(use_standby=False)  # type: ignore[call-arg]
    proc = provider.start(runtime_id="boot", limits=SandboxLimits())
    assert proc.recv(10) is not None
    return proc.close().boot_ms or 0


@pytest.mark.parametrize("name", PROVIDERS)
def test_boot_time_report(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    runs = int(os.environ.get("AGENTEXEC_BOOT_RUNS", "12"))
    modes = ["cold", "warm"] if prewarm(timeout=5.0) else ["cold"]
    for mode in modes:
        boots = sorted(_boot_once(name, mode == "warm") for _ in range(runs))
        with capsys.disabled():
            print(
                f"\n{name} {mode}: boot (spawn -> ready) over {runs}: "
                f"p50 {statistics.median(boots):.0f} ms, min {boots[0]} ms, "
                f"p90 {boots[int(runs * 0.9) - 1]} ms, max {boots[-1]} ms"
            )
