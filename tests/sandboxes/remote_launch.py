"""What the Vercel and Daytona backend tests put into a remote sandbox: a script standing in for
the runtime (it reports its environment, may nap and exits with CODE) and a casedev launcher."""

from __future__ import annotations

from sandboxes.limits import SandboxLimits
from sandboxes.remote_base import RemoteLaunch

SCRIPT = b"""import os, sys, time
print("booted", file=sys.stderr, flush=True)
print("env", sorted(os.environ), flush=True)
time.sleep(float(os.environ.get("NAP", "0")))
sys.exit(int(os.environ.get("CODE", "0")))
"""


def launch_for(
    name="sandbox_test1", env=None, cpu=1, memory_mib=512, timeout_s=30.0
) -> RemoteLaunch:
    return RemoteLaunch(
        name=name,
        limits=SandboxLimits(cpu=cpu, memory_mib=memory_mib, timeout_s=timeout_s),
        files={"runtime.pyz": SCRIPT, "bin/casedev": b"#!/bin/sh\necho cli\n"},
        argv=["python3", "runtime.pyz"],
        env=env or {"LINC_TOKEN": "t0ken"},
        labels={"agentexec-run": "run_1"},
        executable=frozenset({"bin/casedev"}),
    )
