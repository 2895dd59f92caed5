"""What every local backend shares: the environment it accepts, rlimits, the fd placeholders."""

from __future__ import annotations

import pytest

from sandboxes.backend import FD_PLACEHOLDER, check_env, fill_fds
from sandboxes.factory import get_provider
from sandboxes.limits import SandboxLimits
from sandboxes.process import ProcessProvider
from sandboxes.protocol import RunningSandbox
from tests.sandboxes.booting import PROVIDERS, boot, shell


@pytest.mark.parametrize("name", ["PYTHONHOME", "LD_PRELOAD", "LINC_WORKSPACE", "1BAD", "A-B"])
def test_it_refuses_env_names_that_steer_the_interpreter_or_are_invalid(name: str) -> None:
    with pytest.raises(ValueError, match="env name not allowed"):
        check_env({name: "x"})
    with pytest.raises(ValueError):
        ProcessProvider().start(runtime_id="x", limits=SandboxLimits(), env={name: "/"})


def test_it_refuses_env_values_with_nul_bytes() -> None:
    with pytest.raises(ValueError, match="without NUL bytes"):
        check_env({"RUN_ID": "a\x00b"})
    assert check_env({"RUN_ID": "run_1"}) == {"RUN_ID": "run_1"}
    assert check_env(None) == {}


def test_it_fills_fd_placeholders_in_order() -> None:
    argv = ["bwrap", "--seccomp", f"{FD_PLACEHOLDER}1", "--x", f"{FD_PLACEHOLDER}0", "--"]
    assert fill_fds(argv, [7, 9]) == ["bwrap", "--seccomp", "9", "--x", "7", "--"]


@pytest.mark.e2e
@pytest.mark.parametrize("name", PROVIDERS)
def test_it_falls_back_to_rlimits_without_cgroups(name: str, opened: list[RunningSandbox]) -> None:
    provider = type(get_provider(name))(use_cgroups=False)  # type: ignore[call-arg]
    proc = provider.start(runtime_id="nocg", limits=SandboxLimits(memory_mib=64, timeout_s=20))
    opened.append(proc)
    assert any("via RLIMIT_AS" in note for note in proc.notes)
    assert proc.recv(10) is not None
    result = shell(proc, 'python3 -c \'b = b"x" * (256 << 20); print("survived")\'')
    assert "survived" not in result["stdout"] and "MemoryError" in result["stderr"]
    assert proc.close().oom_killed is True  # from the runtime's diagnosis


@pytest.mark.e2e
def test_the_file_size_limit_applies(opened: list[RunningSandbox]) -> None:
    proc = boot("process", opened, fsize_mib=1)
    result = shell(proc, "head -c 2M /dev/zero > big; echo rc=$?; wc -c < big")
    assert "rc=0" not in result["stdout"] and result["stdout"].split()[-1] == str(1 << 20)
