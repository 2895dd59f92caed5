"""Where sandbox cgroups live: /proc parsing, stale cleanup, recognising our cgroups."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandboxes import cgroup_detect, cgroups


def test_it_parses_proc_files() -> None:
    mountinfo = (
        "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        "32 25 0:28 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "33 25 8:1 / / rw - ext4 /dev/vda rw\n"
    )
    mounts = cgroup_detect.parse_mountinfo(mountinfo)
    assert [(m.fstype, m.point) for m in mounts] == [
        ("cgroup2", "/sys/fs/cgroup"),
        ("cgroup", "/sys/fs/cgroup/memory"),
        ("cgroup", "/sys/fs/cgroup/cpu,cpuacct"),
    ]
    paths = cgroup_detect.parse_proc_cgroup(
        "4:memory:/svc\n2:cpu,cpuacct:/docker/abc/x\n0::/user.slice\n"
    )
    assert paths == {"memory": "/svc", "cpu": "/docker/abc/x", "cpuacct": "/docker/abc/x",
                     "": "/user.slice"}  # fmt: skip
    assert cgroup_detect.hierarchy_dir(mounts[2], paths["cpu"]) == "/sys/fs/cgroup/cpu,cpuacct/x"
    assert (
        cgroup_detect.hierarchy_dir(mounts[1], "/svc/agentexec")
        == "/sys/fs/cgroup/memory/svc/agentexec"
    )


def test_stale_cgroups_of_dead_hosts_are_removed(tmp_path: Path) -> None:
    mine = cgroups.sandbox_cgroup_name("run/1 x")
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = f"run_2.{dead.pid}.abcdef"
    for name in (mine, stale, "not-ours", f"busy.{dead.pid}.123456"):
        (tmp_path / name).mkdir()
    (tmp_path / f"busy.{dead.pid}.123456" / "f").touch()  # rmdir fails: "still in use"
    cgroup_detect._remove_stale(str(tmp_path))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([mine, "not-ours", f"busy.{dead.pid}.123456"])


def test_it_recognises_sandbox_cgroup_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(cgroup_detect.ENV_PARENT, raising=False)
    assert cgroup_detect.is_sandbox_path("/system.slice/worker.service/agentexec/run_1-abc123")
    assert cgroup_detect.is_sandbox_path("/agentexec/standby-1234")
    assert not cgroup_detect.is_sandbox_path("/system.slice/worker.service")
    assert not cgroup_detect.is_sandbox_path("/agentexec")
    monkeypatch.setenv(cgroup_detect.ENV_PARENT, "/sandboxes.slice")
    assert cgroup_detect.is_sandbox_path("/sandboxes.slice/run_1-abc123")
    assert not cgroup_detect.is_sandbox_path("/x/agentexec/run_1-abc123")
