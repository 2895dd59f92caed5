"""sandboxes.oneshot.run_python: one module, bytes in and out, in a real sandbox."""

import json
import os

import pytest

from sandboxes import seccomp
from sandboxes.bwrap import bwrap_available
from sandboxes.oneshot import run_python

PROBE = "tests.sandboxes.oneshot_probe"
PROVIDERS = ["bwrap", "process"] if bwrap_available() else ["process"]
pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("provider", PROVIDERS)
def test_stdin_round_trips_through_the_module(provider):
    document = os.urandom(3 * 1024 * 1024) * 4  # 12 MiB: streamed, no deadlock
    result = run_python(PROBE, args=["echo"], stdin=document, provider=provider)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == document[::-1]
    assert not result.stdout_truncated and not result.timed_out and not result.oom_killed


@pytest.mark.parametrize("provider", PROVIDERS)
def test_it_runs_as_an_unprivileged_uid_with_the_venv_importable(provider):
    result = run_python(PROBE, args=["identity"], provider=provider)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["uid"] != 0 and report["gid"] != 0
    assert report["imports"] == ["pypdf", "lxml.etree"]
    assert set(report["env"]) <= {"HOME", "LANG", "PATH", "PWD", "PYTHONPATH", "TMPDIR"}
    assert any(
        note.startswith(f"sandbox runs as host uid {report['uid']}") for note in result.notes
    )


def test_it_has_no_network_in_bwrap():
    if "bwrap" not in PROVIDERS:
        pytest.skip("needs bwrap")
    report = json.loads(run_python(PROBE, args=["identity"], provider="bwrap").stdout)
    assert report["AF_INET"].startswith("denied") and report["AF_INET6"].startswith("denied")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unbounded_allocation_is_oom_killed(provider):
    result = run_python(PROBE, args=["hog"], memory_mib=128, provider=provider)
    assert result.oom_killed and result.exit_code is None
    assert not result.timed_out
    # The host is fine: another run works right after.
    assert run_python(PROBE, args=["echo"], stdin=b"ok", provider=provider).stdout == b"ko"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_busy_loop_hits_the_cpu_time_limit(provider):
    result = run_python(PROBE, args=["spin"], cpu_time_s=1, timeout_s=30, provider=provider)
    assert result.timed_out and result.exit_code is None and not result.oom_killed


def test_a_sleeper_hits_the_wall_clock():
    result = run_python(PROBE, args=["sleep"], timeout_s=1.0)
    assert result.timed_out and result.exit_code is None
    assert any("wall-clock timeout" in note for note in result.notes)


def test_stdout_over_the_cap_is_truncated():
    result = run_python(PROBE, args=["spew", "3"], stdout_cap=1024 * 1024)
    assert result.stdout_truncated and len(result.stdout) == 1024 * 1024
    assert result.exit_code == 0


def test_a_missing_module_is_an_exit_code_not_an_exception():
    result = run_python("tests.sandboxes.no_such_module")
    assert result.exit_code == 1 and "No module named" in result.stderr


def test_it_rejects_a_bad_module_name():
    with pytest.raises(ValueError, match="not a module name"):
        run_python("os; rm -rf /")


def test_without_libseccomp_the_runner_log_says_so_loudly(tmp_path, monkeypatch):
    def broken():
        raise ImportError("No module named 'pyseccomp'")

    monkeypatch.setattr(seccomp, "build_bpf", broken)
    result = seccomp._build(str(tmp_path))
    assert result.path is None
    assert result.note.startswith("WARNING: NO SECCOMP FILTER")


def test_the_filter_denies_the_documented_syscalls():
    bpf = seccomp.build_bpf()
    assert bpf and len(bpf) % 8 == 0  # struct sock_filter entries
    names = {name for name, _why in seccomp.DENIED}
    assert {"mount", "ptrace", "bpf", "keyctl", "unshare", "setns", "kexec_load"} <= names
