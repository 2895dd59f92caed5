"""The seccomp filter every bwrap sandbox runs under (plain Python, no Django).

Built once per host process with libseccomp (through ``pyseccomp``), exported as BPF to a file
in the provider's private directory; each sandbox gets a fresh read-only fd on it for bwrap's
``--seccomp``. Everything is allowed except the kernel interfaces a sandboxed agent never needs
and that make up most container escapes and kernel attack surface (see README, "Seccomp").
Syscalls of other architectures (the 32-bit ABI on x86-64, x32) are killed by libseccomp's
architecture check.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import threading
from dataclasses import dataclass

# (syscall, why): denied with EPERM whatever the arguments.
DENIED: tuple[tuple[str, str], ...] = (
    ("mount", "filesystem mounts"),
    ("umount2", "filesystem mounts"),
    ("pivot_root", "filesystem mounts"),
    ("fsopen", "new mount API"),
    ("fsconfig", "new mount API"),
    ("fsmount", "new mount API"),
    ("fspick", "new mount API"),
    ("move_mount", "new mount API"),
    ("open_tree", "new mount API"),
    ("mount_setattr", "new mount API"),
    ("unshare", "new namespaces"),
    ("setns", "joining namespaces"),
    ("ptrace", "inspecting other processes"),
    ("process_vm_readv", "inspecting other processes"),
    ("process_vm_writev", "inspecting other processes"),
    ("pidfd_getfd", "stealing other processes' fds"),
    ("kexec_load", "replacing the kernel"),
    ("kexec_file_load", "replacing the kernel"),
    ("init_module", "kernel modules"),
    ("finit_module", "kernel modules"),
    ("delete_module", "kernel modules"),
    ("bpf", "eBPF programs"),
    ("perf_event_open", "kernel profiling"),
    ("userfaultfd", "exploit primitive"),
    ("io_uring_setup", "bypasses seccomp for its operations"),
    ("io_uring_enter", "bypasses seccomp for its operations"),
    ("io_uring_register", "bypasses seccomp for its operations"),
    ("keyctl", "kernel keyrings"),
    ("add_key", "kernel keyrings"),
    ("request_key", "kernel keyrings"),
    ("swapon", "host administration"),
    ("swapoff", "host administration"),
    ("reboot", "host administration"),
    ("acct", "host administration"),
    ("settimeofday", "host clock"),
    ("clock_settime", "host clock"),
    ("clock_adjtime", "host clock"),
    ("adjtimex", "host clock"),
    ("open_by_handle_at", "opening files outside the sandbox by handle"),
    ("syslog", "kernel log"),
    ("iopl", "hardware access"),
    ("ioperm", "hardware access"),
)
# clone(2) with any namespace flag: a new namespace is the first step of most escapes.
CLONE_NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


@dataclass(frozen=True)
class Filter:
    path: str | None  # the BPF file; None when no filter could be built
    note: str  # for the runner log

    def open_fd(self) -> int:
        """A fresh fd on the BPF (bwrap reads it from the start)."""
        assert self.path is not None
        return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)


def describe() -> str:
    names = [name for name, _why in DENIED]
    return (
        f"seccomp: EPERM for {len(names)} syscalls ({', '.join(names)}), clone with namespace "
        "flags, socket/socketpair other than AF_UNIX; ENOSYS for clone3; other architectures "
        "killed"
    )


def build_bpf() -> bytes:
    """Compile the filter (raises ImportError without pyseccomp, OSError without libseccomp)."""
    import pyseccomp as sc

    flt = sc.SyscallFilter(sc.ALLOW)
    eperm = sc.ERRNO(errno.EPERM)
    for name, _why in DENIED:
        flt.add_rule(eperm, name)
    # clone3 passes its flags in a struct seccomp cannot read: make libc fall back to clone.
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    for flag in CLONE_NAMESPACE_FLAGS.values():
        flt.add_rule(eperm, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    for name in ("socket", "socketpair"):
        flt.add_rule(eperm, name, sc.Arg(0, sc.NE, socket.AF_UNIX))
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(write_fd, "wb", closefd=True) as sink:
            flt.export_bpf(sink)
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(read_fd)
    return b"".join(chunks)


_lock = threading.Lock()
_cached: dict[str, Filter] = {}


def sandbox_filter(private_dir: str) -> Filter:
    """The filter's BPF file in `private_dir`, built once per host process."""
    with _lock:
        if private_dir not in _cached:
            _cached[private_dir] = _build(private_dir)
        return _cached[private_dir]


def _build(private_dir: str) -> Filter:
    try:
        bpf = build_bpf()
    except (ImportError, OSError, RuntimeError, ValueError) as exc:
        return Filter(
            None,
            "WARNING: NO SECCOMP FILTER: the sandbox may call mount, ptrace, bpf, keyctl, "
            f"unshare and open network sockets (libseccomp unusable: {type(exc).__name__}: "
            f"{exc}; install libseccomp2 and pyseccomp)",
        )
    digest = hashlib.sha256(bpf).hexdigest()[:16]
    path = os.path.join(private_dir, f"seccomp-{digest}.bpf")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o400)
        try:
            os.write(fd, bpf)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o400)
    return Filter(path, describe())
