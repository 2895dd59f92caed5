"""Escape attempts, run inside a sandbox by the security tests (`python3 probes.py` there).

Each probe prints one `name=result` line; `result` is "denied: ..." when the kernel refused,
"ALLOWED" when it did not. Written to stdout as JSON at the end for the tests to parse.
"""

import ctypes
import errno
import json
import os
import socket
import subprocess

SYS = {"bpf": 321, "keyctl": 250, "ptrace": 101, "unshare": 272, "mount": 165, "add_key": 248}
libc = ctypes.CDLL(None, use_errno=True)
results: dict[str, str] = {}


def record(name, fn):
    try:
        fn()
    except OSError as exc:
        results[name] = f"denied: {errno.errorcode.get(exc.errno, exc.errno)}"
    else:
        results[name] = "ALLOWED"


def syscall(name, *args):
    def call():
        if libc.syscall(SYS[name], *args) == -1:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))

    return call


def write(path, data="3"):
    def call():
        with open(path, "w") as f:
            f.write(data)

    return call


def sh(command):
    def call():
        if subprocess.run(["/bin/sh", "-c", command], capture_output=True).returncode != 0:
            raise OSError(errno.EPERM, command)

    return call


record("proc_sys_vm_stat_interval", write("/proc/sys/vm/stat_interval"))
record("proc_sys_kernel_core_pattern", write("/proc/sys/kernel/core_pattern", "|/tmp/x"))
record("proc_sysrq_trigger", write("/proc/sysrq-trigger", "h"))


def read_kcore():
    with open("/proc/kcore", "rb") as f:
        f.read(1)


record("proc_kcore_read", read_kcore)
record("sys_write", write("/sys/kernel/uevent_helper", "/tmp/x"))
record("unshare_user", sh("unshare -U true"))
record("unshare_root", sh("unshare -r true"))
record("unshare_syscall", syscall("unshare", 0x10000000))
record("mount_tmpfs", sh("mount -t tmpfs none /tmp"))
record("mount_syscall", syscall("mount", b"none", b"/tmp", b"tmpfs", 0, None))
record("ptrace_attach_parent", syscall("ptrace", 16, os.getppid(), 0, 0))  # PTRACE_ATTACH
record("bpf", syscall("bpf", 0, 0, 0))  # BPF_MAP_CREATE with no attributes
record("keyctl", syscall("keyctl", 0, -3, 0))  # KEYCTL_GET_KEYRING_ID of the session keyring
record("add_key", syscall("add_key", b"user", b"k", b"v", 1, -3))
record("socket_inet", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM).close())
record("socket_inet6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close())
record("socket_netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close())
with open("/proc/self/uid_map") as f:
    uid_map = f.read().split()
# What must keep working: unix sockets, threads, subprocesses, pipes.
a, b = socket.socketpair()
a.close()
b.close()
worked = subprocess.run("echo ok | cat", shell=True, capture_output=True, text=True).stdout
print(json.dumps({"results": results, "uid": os.getuid(), "uid_map": uid_map, "pipes": worked}))
