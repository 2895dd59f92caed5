"""One sandbox's cgroup, on fake cgroupfs trees."""

from __future__ import annotations

import os
from pathlib import Path

from sandboxes import cgroup_detect, cgroups


def test_v2_limits_and_stats_on_a_fake_tree(tmp_path: Path) -> None:
    manager = cgroup_detect.V2Manager(str(tmp_path), {"memory", "cpu", "pids"})
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


def test_a_sandbox_cgroup_name_is_safe_and_names_its_host_process() -> None:
    name = cgroups.sandbox_cgroup_name("run/1 x")
    assert name.startswith(f"run_1_x.{os.getpid()}.")
    assert cgroups.sandbox_cgroup_name("").startswith("sandbox.")
