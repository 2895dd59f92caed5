"""Child-side staging and privilege drop (see sandboxes.isolation), between fork and exec.

Kept to `os` and `ctypes`: the standby stub imports it while it boots, and every millisecond of
import is CPU each sandbox pays.
"""

import ctypes
import os

CLONE_NEWNS = 0x00020000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

_libc = ctypes.CDLL(None, use_errno=True)  # the interpreter's own libc: no library search
_unshare = _libc.unshare
_unshare.argtypes = (ctypes.c_int,)
_mount = _libc.mount
_char_p = ctypes.c_char_p
_mount.argtypes = (_char_p, _char_p, _char_p, ctypes.c_ulong, ctypes.c_void_p)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def enter_stage(root: str, items: list[tuple[str, str, bool]]) -> None:
    """As root, before dropping privileges: a private mount namespace with `items` staged.

    Each item is (host source, target under `root`, is a directory).
    """
    if not items:
        return
    _check(_unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    # Nothing mounted from here on may propagate back to the host.
    _check(_mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    opts = b"mode=0755,size=65536"
    _check(_mount(b"agentexec-stage", root.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, opts), root)
    for source, target, is_dir in items:
        os.makedirs(os.path.dirname(target), 0o755, exist_ok=True)
        if is_dir:
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444))
        _check(_mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None), source)


def drop_privileges(uid: int, gid: int) -> None:
    """Give up root for good: groups, then gid, then uid (real, effective and saved)."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - the kernel refused silently
        raise OSError("privilege drop failed")
