"""The bwrap backend: bubblewrap with every namespace (user, pid, ipc, uts, net, cgroup).

A read-only system, only the linc package mounted (under an empty ``agentexec/__init__.py``),
private size-limited tmpfs /workspace and /tmp, no network (an empty network namespace), the
sandbox seccomp filter, and the runtime started as ``python -S -s -B -c "import
agentexec.linc.__main__"`` (``base.LINC_ARGS``). ``BwrapSandbox`` builds the command line for
the runtime and for one-shot runs (``sandboxes.oneshot``) alike.

One process-wide global lives here: ``_empty_file_lock``, so concurrent first starts create the
shared empty ``__init__.py`` once.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import threading
from dataclasses import dataclass
from functools import cache, partial

from sandboxes import isolation, seccomp
from sandboxes.backend import FD_PLACEHOLDER, BaseProvider, Layout, base_env
from sandboxes.base import (
    LINC_ARGS,
    SANDBOX_PYTHONPATH,
    SANDBOX_WORKSPACE,
    SandboxStartError,
    base_interpreter,
    is_under,
)
from sandboxes.limits import MIB, SandboxLimits

# The /etc entries a sandbox needs: the dynamic linker cache, users and groups (id, whoami),
# Debian's alternatives symlinks (awk, editor...), localtime and hosts (localhost). The rest of
# /etc stays invisible (shadow, host config, secrets); no TLS roots either: there is no network.
# Each entry is a mount, and mounts are most of bwrap's setup time, so keep this list short.
ETC_ENTRIES = (
    "alternatives",
    "group",
    "hosts",
    "ld.so.cache",
    "localtime",
    "nsswitch.conf",
    "passwd",
)
TOP_LEVEL_SYSTEM = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class BwrapInfo:
    path: str
    version: str
    options: frozenset[str]  # long options this bwrap understands (from --help)


def _bwrap_path() -> str | None:
    configured = os.environ.get("BWRAP_PATH")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("bwrap")


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for path in TOP_LEVEL_SYSTEM:
        if os.path.islink(path):  # merged-/usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _bwrap_probe_argv(bwrap: str) -> list[str]:
    true = shutil.which("true", path="/usr/bin:/bin") or "/bin/true"
    flags = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
    flags += ["--proc", "/proc", "--dev", "/dev"]
    return [bwrap, *flags, *_system_binds(), true]


def bwrap_info(user: isolation.SandboxUser | None = None) -> BwrapInfo | None:
    """bwrap, if it works here for the user sandboxes run as (cached per user)."""
    return _bwrap_info_for(user or isolation.sandbox_user())


@cache
def _bwrap_info_for(user: isolation.SandboxUser) -> BwrapInfo | None:
    path = _bwrap_path()
    if path is None:
        return None
    drop = partial(isolation.drop_privileges, user.uid, user.gid) if user.drop else None
    try:
        run = subprocess.run(
            _bwrap_probe_argv(path), capture_output=True, timeout=10, env={}, preexec_fn=drop
        )
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        helptext = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if run.returncode != 0:
        return None
    options = frozenset(re.findall(r"--[a-z][a-z-]+", helptext.stdout + helptext.stderr))
    return BwrapInfo(path, version.stdout.strip() or "bwrap (unknown version)", options)


def bwrap_available(uid: int | None = None, gid: int | None = None) -> bool:
    """bwrap is installed and a trivial fully-namespaced command works here (cached)."""
    return bwrap_info(isolation.sandbox_user(uid, gid)) is not None


# Process-wide: creating the shared empty __init__.py is check-then-create.
_empty_file_lock = threading.Lock()


def _private_dir() -> str:
    """A per-user directory for the provider's own files (mode 0700, verified, reused)."""
    try:
        return isolation.owned_dir("agentexec", 0o700)
    except OSError as exc:
        raise SandboxStartError(str(exc)) from exc


def _empty_init_file() -> str:
    """An empty file to mount as the sandbox's agentexec/__init__.py.

    Not the project's real agentexec/__init__.py: that belongs to the Django project and may
    import things that neither exist nor belong in the sandbox.
    """
    path = os.path.join(_private_dir(), "empty__init__.py")
    with _empty_file_lock:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444))
            st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size != 0 or st.st_uid != os.geteuid():
            raise SandboxStartError(f"{path} is not an empty regular file of ours")
    return path


class BwrapProvider(BaseProvider):
    name = "bwrap"

    def _layout(self, limits: SandboxLimits, extras: dict[str, str]) -> Layout:
        info = bwrap_info(self.user)
        if info is None:
            raise SandboxStartError("bwrap is not available (not installed or namespaces denied)")
        exe, _prefix = base_interpreter()
        env = base_env(
            home=SANDBOX_WORKSPACE,
            pythonpath=SANDBOX_PYTHONPATH,
            workspace=SANDBOX_WORKSPACE,
            tmp="/tmp",
            limits=limits,
        )
        env.update(extras)
        stage = isolation.new_stage(self.user)
        package = f"{SANDBOX_PYTHONPATH}/agentexec"
        binds = [*python_binds(), (_empty_init_file(), f"{package}/__init__.py")]
        binds.append((str(self.linc_source.resolve()), f"{package}/linc"))
        sandbox = BwrapSandbox(info, self.user, stage, binds)
        argv = sandbox.argv(
            tmpfs=[(SANDBOX_WORKSPACE, limits.workspace_mib), ("/tmp", limits.workspace_mib)],
            cwd=SANDBOX_WORKSPACE,
            env=env,
            command=[exe, *LINC_ARGS],
        )
        notes = [self._intro(info, limits), *sandbox.notes()]
        # bwrap's own environment: --clearenv already keeps it from the sandbox.
        return Layout(
            argv,
            "/",
            {"PATH": "/usr/bin:/bin"},
            None,
            notes,
            user=self.user,
            stage=stage,
            open_files=sandbox.open_files,
        )

    @staticmethod
    def _intro(info: BwrapInfo, limits: SandboxLimits) -> str:
        if "--size" in info.options:
            scratch = f"tmpfs /workspace and /tmp of {limits.workspace_mib} MiB each"
        else:
            scratch = "tmpfs /workspace (bwrap lacks --size: only RLIMIT_FSIZE per file)"
        return (
            f"{info.version} ({info.path}): user/pid/ipc/uts/net/cgroup namespaces, no network "
            f"(empty netns, loopback only), read-only system, no /sys, {scratch}"
        )


class BwrapSandbox:
    """The bwrap command line for one sandbox (the bwrap provider and one-shot runs)."""

    def __init__(
        self,
        info: BwrapInfo,
        user: isolation.SandboxUser,
        stage: isolation.Stage,
        binds: list[tuple[str, str]],  # (host path, sandbox path), mounted read-only
    ) -> None:
        self.info = info
        self.user = user
        self.stage = stage
        self.binds = binds
        self.filter = seccomp.sandbox_filter(_private_dir())
        self.open_files: list[str] = []

    def argv(
        self,
        *,
        tmpfs: list[tuple[str, int]],  # (sandbox path, MiB)
        cwd: str,
        env: dict[str, str],
        command: list[str],
    ) -> list[str]:
        argv = [self.info.path, *self._namespace_args(), *_system_binds(), *_etc_binds()]
        argv += ["--proc", "/proc", "--dev", "/dev"]
        # The scratch tmpfs first, the binds after: a bind whose path lies under /tmp (a venv
        # or checkout installed there) is then mounted on the tmpfs instead of hidden by it.
        for path, mib in tmpfs:
            if "--size" in self.info.options:
                argv += ["--size", str(mib * MIB)]
            argv += ["--tmpfs", path]
        for source, dest in self.binds:
            argv += ["--ro-bind", self.stage.path(source), dest]
        argv += ["--remount-ro", "/", "--chdir", cwd]
        if self.filter.path is not None:
            argv += ["--seccomp", f"{FD_PLACEHOLDER}{len(self.open_files)}"]
            self.open_files.append(self.filter.path)
        for key, value in env.items():
            argv += ["--setenv", key, value]
        return [*argv, "--", *command]

    def _namespace_args(self) -> list[str]:
        args = ["--unshare-all", "--unshare-user", "--die-with-parent", "--new-session"]
        args += ["--clearenv", "--cap-drop", "ALL", "--hostname", "sandbox"]
        if "--disable-userns" in self.info.options:  # no nested user namespaces (kernel surface)
            args.append("--disable-userns")
        return args

    def notes(self) -> list[str]:
        staged = f", {len(self.stage.items)} host paths staged for it" if self.stage.items else ""
        return [f"sandbox {self.user.describe()}{staged}", self.filter.note]


def _etc_binds() -> list[str]:
    args: list[str] = []
    for entry in ETC_ENTRIES:
        args += ["--ro-bind-try", f"/etc/{entry}", f"/etc/{entry}"]
    return args


def python_binds() -> list[tuple[str, str]]:
    """The interpreter's prefix (and executable's directory) when they are not under /usr."""
    exe, prefix = base_interpreter()
    binds: list[tuple[str, str]] = []
    if not is_under(prefix, "/usr"):
        binds.append((prefix, prefix))
    exe_dir = os.path.dirname(exe)
    if not is_under(exe_dir, "/usr") and not is_under(exe_dir, prefix):
        binds.append((exe_dir, exe_dir))
    return binds
