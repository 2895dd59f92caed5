"""Looking for processes on this host, to prove a sandbox left nothing behind."""

import os


def processes_with(needle: str) -> list[int]:
    """Pids whose command line (arguments joined by spaces) contains `needle`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle.encode() in f.read().replace(b"\0", b" "):
                    found.append(int(pid))
        except OSError:
            continue
    return found
