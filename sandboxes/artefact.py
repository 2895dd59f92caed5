"""The runtime as one uploadable file: a zipapp of agentexec.linc (the runtime and the casedev
CLI), standard library only, for sandboxes that do not share this host's files.

    python3 runtime.pyz               the runtime (stdio, or calls home with LINC_BROKER_URL)
    python3 runtime.pyz cli ARGS...   the casedev CLI

Built reproducibly (fixed timestamps and modes, sorted entries): the same sources give the same
bytes, so the file is cached under MEDIA_ROOT/runtime by its content hash.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from pathlib import Path

from django.conf import settings

LINC_SOURCE = Path(__file__).resolve().parent.parent / "agentexec" / "linc"
SHEBANG = b"#!/usr/bin/env python3\n"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
MAIN = """\
import sys

if sys.argv[1:2] == ["cli"]:
    del sys.argv[1]
    from agentexec.linc.cli import main

    sys.exit(main())
import agentexec.linc.__main__  # runs the runtime and exits
"""


def _entries(source: Path) -> list[tuple[str, bytes]]:
    files = [("__main__.py", MAIN.encode()), ("agentexec/__init__.py", b"")]
    for path in sorted(source.glob("*.py")):
        files.append((f"agentexec/linc/{path.name}", path.read_bytes()))
    return files


def runtime_bytes(source: Path = LINC_SOURCE) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in _entries(source):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return SHEBANG + buffer.getvalue()


def cache_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "runtime"


def runtime_zipapp(source: Path = LINC_SOURCE) -> Path:
    """The runtime zipapp for the current sources (built on first use, then reused)."""
    data = runtime_bytes(source)
    digest = hashlib.sha256(data).hexdigest()
    target = cache_dir() / f"runtime-{digest[:16]}.pyz"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".runtime-", suffix=".pyz")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)  # atomic: a concurrent builder writes the same bytes
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
