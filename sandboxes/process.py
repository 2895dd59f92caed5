"""The process backend: the runtime as a plain child process, no namespaces.

For development and hosts without bwrap; never for untrusted agents (loudly flagged in the
runner notes). The same limits as bwrap (cgroup or rlimits, affinity, wall clock) and the same
unprivileged user when the service is root, but the sandbox shares the host's network and
filesystem, has no seccomp filter, and its workspace is a temp dir that is not size-limited.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from functools import cache, partial

from sandboxes import isolation
from sandboxes.backend import BaseProvider, Layout, base_env
from sandboxes.base import LINC_ARGS, base_interpreter, is_under
from sandboxes.limits import SandboxLimits
from sandboxes.spawning import pid_alive

_ROOT_PREFIX = "agentexec-sbx-"


@cache
def _sweep_stale_roots() -> None:
    """Remove process-provider dirs left by host processes that died without close()."""
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        owner = entry[len(_ROOT_PREFIX) :].split("-", 1)[0]
        if not entry.startswith(_ROOT_PREFIX) or not owner.isdigit():
            continue
        path = os.path.join(tmp, entry)
        with contextlib.suppress(OSError):
            # Ours, or (when root) one handed to a sandbox user: the owner pid in the name is ours.
            st = os.lstat(path)
            mine = st.st_uid == os.geteuid() or os.geteuid() == 0
            if mine and not pid_alive(int(owner)):
                shutil.rmtree(path, ignore_errors=True)


class ProcessProvider(BaseProvider):
    """No namespaces: for development and hosts without bwrap. Never for untrusted agents."""

    name = "process"
    sweep_session = True  # without a cgroup, the session is how we find every process

    def _layout(self, limits: SandboxLimits, extras: dict[str, str]) -> Layout:
        _sweep_stale_roots()
        stage = isolation.new_stage(self.user)
        exe, prefix = staged_interpreter(stage)
        root = tempfile.mkdtemp(prefix=f"{_ROOT_PREFIX}{os.getpid()}-")
        try:
            workspace, tmp, pylib = (os.path.join(root, d) for d in ("workspace", "tmp", "py"))
            os.mkdir(workspace, 0o700)
            os.mkdir(tmp, 0o700)
            self._copy_linc(pylib)
            if self.user.drop:
                chown_tree(root, self.user)
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        env = base_env(
            home=workspace, pythonpath=pylib, workspace=workspace, tmp=tmp, limits=limits
        )
        env["PATH"] = f"{prefix}/bin:/usr/local/bin:/usr/bin:/bin"
        env.update(extras)
        notes = [
            "WARNING: process provider: no namespaces, the sandbox shares the host's network "
            "and filesystem",
            f"sandbox {self.user.describe()}",
            "WARNING: NO SECCOMP FILTER (process provider)",
            f"workspace {workspace} (not size-limited; RLIMIT_FSIZE caps each file at "
            f"{limits.fsize_mib} MiB)",
        ]
        argv = [exe, *LINC_ARGS]
        cleanup = partial(shutil.rmtree, root, True)
        return Layout(argv, workspace, env, cleanup, notes, user=self.user, stage=stage)

    def _copy_linc(self, pylib: str) -> None:
        package = os.path.join(pylib, "agentexec")
        shutil.copytree(self.linc_source, os.path.join(package, "linc"))
        with open(os.path.join(package, "__init__.py"), "w"):
            pass  # empty: see bwrap._empty_init_file()


def staged_interpreter(stage: isolation.Stage) -> tuple[str, str]:
    """(executable, prefix) of the base interpreter as the sandbox user reaches them.

    Staged, the prefix moves: Python finds its standard library next to its executable.
    """
    exe, prefix = base_interpreter()
    if not stage.active:
        return exe, prefix
    staged_prefix = stage.path(prefix)
    if is_under(exe, prefix):
        return staged_prefix + exe[len(prefix) :], staged_prefix
    return os.path.join(stage.path(os.path.dirname(exe)), os.path.basename(exe)), staged_prefix


def chown_tree(root: str, user: isolation.SandboxUser) -> None:
    for dirpath, dirnames, filenames in os.walk(root):
        os.chown(dirpath, user.uid, user.gid)
        for name in (*dirnames, *filenames):
            os.lchown(os.path.join(dirpath, name), user.uid, user.gid)
