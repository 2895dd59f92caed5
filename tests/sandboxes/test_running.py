"""The running sandbox: JSON lines, deadlines, kill, logs and stats, on real sandboxes."""

from __future__ import annotations

import secrets
import signal
import threading
import time
from pathlib import Path

import pytest

from sandboxes.base import CappedLog, ProtocolError, WallClockTimeout
from sandboxes.cgroups import CgroupStats
from sandboxes.limits import SandboxLimits
from sandboxes.protocol import RunningSandbox
from sandboxes.running import oom_decision
from tests.processes import processes_with
from tests.sandboxes.booting import (
    PROVIDERS,
    START_MODES,
    assert_gone,
    boot,
    fake_runtime,
    request_shell,
    send_spec,
    shell,
)


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "warm"), START_MODES)
def test_it_boots_and_answers(name: str, warm: bool, opened: list[RunningSandbox]) -> None:
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


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROVIDERS)
def test_its_env_holds_nothing_from_the_host(
    name: str, opened: list[RunningSandbox], monkeypatch: pytest.MonkeyPatch
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


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "warm"), START_MODES)
def test_a_memory_hog_is_oom_killed(name: str, warm: bool, opened: list[RunningSandbox]) -> None:
    proc = boot(name, opened, warm, memory_mib=64)
    result = shell(proc, 'python3 -c \'b = b"x" * (256 << 20); print("survived")\'')
    assert "survived" not in result["stdout"]
    assert result["exitCode"] != 0 and "out of memory" in result["stderr"]
    assert proc.close().oom_killed is True


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROVIDERS)
def test_a_wall_clock_timeout_then_kill_leaves_nothing(
    name: str, opened: list[RunningSandbox]
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


@pytest.mark.e2e
@pytest.mark.parametrize(("name", "warm"), START_MODES)
def test_it_is_killed_from_another_thread(
    name: str, warm: bool, opened: list[RunningSandbox]
) -> None:
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


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROVIDERS)
def test_its_cpu_affinity_is_applied(name: str, opened: list[RunningSandbox]) -> None:
    proc = boot(name, opened, cpu=1)
    assert shell(proc, "nproc")["stdout"].strip() == "1"


# -- protocol errors, deadlines, logs (a fake runtime via linc_source) -------------------------


@pytest.mark.e2e
def test_a_non_json_line_is_a_protocol_error(tmp_path: Path, opened: list[RunningSandbox]) -> None:
    code = "import sys\nprint('{\"type\":\"ready\"}')\nprint('Traceback: boom', flush=True)\n"
    proc = fake_runtime(tmp_path, code).start(runtime_id="fake", limits=SandboxLimits())
    opened.append(proc)
    assert proc.recv(10) == {"type": "ready"}
    with pytest.raises(ProtocolError):
        proc.recv(10)
    assert any("Traceback: boom" in note for note in proc.notes)


@pytest.mark.e2e
def test_stderr_is_capped_with_a_marker(tmp_path: Path, opened: list[RunningSandbox]) -> None:
    code = "import sys\nsys.stderr.write('a' * 600 + 'b' * 5000 + 'z' * 600)\n"
    proc = fake_runtime(tmp_path, code).start(runtime_id="fake", limits=SandboxLimits())
    opened.append(proc)
    assert proc.recv(10) is None
    proc.close()
    text = proc.stderr_text()
    assert text.startswith("a" * 500) and text.endswith("z" * 500)
    assert "[... truncated 5200 bytes ...]" in text


@pytest.mark.e2e
def test_send_and_recv_respect_the_deadline(tmp_path: Path, opened: list[RunningSandbox]) -> None:
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


@pytest.mark.e2e
def test_a_runtime_that_dies_of_memory_error_is_oom(
    tmp_path: Path, opened: list[RunningSandbox]
) -> None:
    code = 'print(\'{"type":"fatal","error":"out of memory: MemoryError"}\', flush=True)\n'
    proc = fake_runtime(tmp_path, code).start(runtime_id="fake", limits=SandboxLimits())
    opened.append(proc)
    assert proc.recv(10) == {"type": "fatal", "error": "out of memory: MemoryError"}
    assert proc.close().oom_killed is True


# -- the one OOM decision ------------------------------------------------------------------------


def decide(
    cg: CgroupStats | None,
    *,
    runtime_oom: bool = False,
    suspected_oom: bool = False,
    killed_by_us: bool = False,
    exit_code: int | None = 0,
) -> bool:
    return oom_decision(
        cg,
        runtime_oom=runtime_oom,
        suspected_oom=suspected_oom,
        killed_by_us=killed_by_us,
        exit_code=exit_code,
    )


def test_it_trusts_the_cgroup_oom_counter_over_the_runtimes_suspicion() -> None:
    assert decide(CgroupStats(oom_kills=1)) is True
    # A tool SIGKILLed by something else: the runtime suspects memory, the kernel counted none.
    assert decide(CgroupStats(oom_kills=0), suspected_oom=True) is False


def test_it_believes_the_runtime_without_a_cgroup() -> None:
    assert decide(None, suspected_oom=True) is True
    assert decide(None) is False


def test_a_runtime_memory_error_is_always_oom() -> None:
    assert decide(CgroupStats(oom_kills=0), runtime_oom=True) is True


def test_old_v1_kernels_need_the_limit_hit_and_a_sigkill() -> None:
    no_counter = CgroupStats(oom_kills=None, memory_failcnt=3)
    assert decide(no_counter, exit_code=-signal.SIGKILL) is True
    assert decide(no_counter, exit_code=128 + signal.SIGKILL) is True  # bwrap's way of saying it
    assert decide(no_counter, exit_code=-signal.SIGKILL, killed_by_us=True) is False
    assert decide(no_counter, suspected_oom=True) is True
    assert decide(CgroupStats(oom_kills=None, memory_failcnt=0), suspected_oom=True) is False


def test_the_capped_log_keeps_head_and_tail() -> None:
    log = CappedLog(10)
    log.add(b"abcde")
    log.add(b"fghijklmno")
    assert log.text() == "abcde\n[... truncated 5 bytes ...]\nklmno"
    short = CappedLog(10)
    short.add(b"abc")
    assert short.text() == "abc"
