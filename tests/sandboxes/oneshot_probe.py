"""Run inside one-shot sandboxes by the tests: `python -m tests.sandboxes.oneshot_probe MODE`."""

import json
import os
import socket
import sys


def identity() -> None:
    with open("/proc/self/uid_map") as f:
        uid_map = f.read().split()
    out = {"uid": os.getuid(), "gid": os.getgid(), "uid_map": uid_map, "pid": os.getpid()}
    out["env"] = sorted(os.environ)
    for family in ("AF_INET", "AF_INET6"):
        try:
            socket.socket(getattr(socket, family), socket.SOCK_STREAM).close()
            out[family] = "allowed"
        except OSError as exc:
            out[family] = f"denied: {exc.strerror}"
    import lxml.etree
    import pypdf

    out["imports"] = [pypdf.__name__, lxml.etree.__name__]
    print(json.dumps(out))


def echo() -> None:
    data = sys.stdin.buffer.read()
    sys.stdout.buffer.write(data[::-1])


def spew() -> None:
    chunk = b"x" * (1 << 20)
    for _ in range(int(sys.argv[2])):
        sys.stdout.buffer.write(chunk)


def hog() -> None:
    blocks = []
    while True:
        blocks.append(bytearray(16 << 20))


def spin() -> None:
    while True:
        pass


def sleep() -> None:
    import time

    time.sleep(3600)


if __name__ == "__main__":
    {"identity": identity, "echo": echo, "spew": spew, "hog": hog, "spin": spin, "sleep": sleep}[
        sys.argv[1]
    ]()
