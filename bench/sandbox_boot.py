"""Sandbox boot time, spawn -> "ready" line, per provider, cold and warm (prints figures).

Cold: the runtime is spawned directly into a new cgroup. Warm: it is exec'd in a standby that
already sits in its cgroup (only where a writable cgroup exists). No Django needed.

    python bench/sandbox_boot.py [--runs 12] [--provider bwrap --provider process]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sandboxes.bwrap import bwrap_available  # noqa: E402
from sandboxes.factory import get_provider, prewarm  # noqa: E402
from sandboxes.limits import SandboxLimits  # noqa: E402


def boot_once(name: str, warm: bool) -> int:
    provider = get_provider(name)
    if warm:
        if not prewarm(timeout=5.0):  # steady state: a standby is waiting
            raise SystemExit("no standby became ready within 5 s")
    else:
        provider = type(provider)(use_standby=False)  # type: ignore[call-arg]
    proc = provider.start(runtime_id="boot", limits=SandboxLimits())
    try:
        if proc.recv(10) is None:
            raise SystemExit(f"{name}: the runtime exited before its ready line")
    finally:
        stats = proc.close()
    if warm != ("started from a standby" in proc.notes):
        raise SystemExit(f"{name}: expected a {'warm' if warm else 'cold'} start: {proc.notes}")
    return stats.boot_ms or 0


def report(name: str, mode: str, runs: int) -> None:
    boots = sorted(boot_once(name, mode == "warm") for _ in range(runs))
    print(
        f"{name} {mode}: boot (spawn -> ready) over {runs}: "
        f"p50 {statistics.median(boots):.0f} ms, min {boots[0]} ms, "
        f"p90 {boots[max(0, int(runs * 0.9) - 1)]} ms, max {boots[-1]} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--provider", action="append", choices=["bwrap", "process"])
    args = parser.parse_args()
    names = args.provider or (["bwrap", "process"] if bwrap_available() else ["process"])
    modes = ["cold", "warm"] if prewarm(timeout=5.0) else ["cold"]
    for name in names:
        for mode in modes:
            report(name, mode, args.runs)


if __name__ == "__main__":
    main()
