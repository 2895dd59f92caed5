"""linc: the agent runtime that runs inside a sandbox.

Standard library only, and nothing heavy at import time: the host starts it as
``python -S -s -B -c "import agentexec.linc.__main__"`` (sandboxes.base.LINC_ARGS; the same as
``-m agentexec.linc`` without runpy's module search) with PYTHONPATH holding just this package,
and its boot time (spawn -> ``ready`` line) is on every run's critical path.

Protocol (one JSON object per line): stdout carries protocol lines only, stderr is the log.
See ``agentexec.linc.runtime`` for the loop and ``agentexec.linc.tools`` for the tool schemas.
"""

PROTOCOL_VERSION = 1
WORKSPACE_ENV = "LINC_WORKSPACE"
DEFAULT_WORKSPACE = "/workspace"
