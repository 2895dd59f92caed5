"""Hostile and large documents through the bounded text extraction, as ingest runs it: how long
each takes to end, how it ends, and what it costs this process (the worker's) in memory.

    python bench/ingest_limits.py [--bomb-mib 2048] [--repeat 5]

No database: it calls vaults.parsing.bounded.extract with the settings from the environment
(INGEST_MEMORY_MIB, INGEST_TIMEOUT_S, ...), as object_ingest_run does.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentexec.settings")

import django  # noqa: E402

django.setup()

from tests.vaults.documents import (  # noqa: E402
    make_large_docx,
    make_pdf_with_blank_pages,
    make_zip_bomb_docx,
    understate_member_size,
)
from vaults.parsing import bounded, extraction  # noqa: E402

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(label: str, data: bytes, content_type: str, filename: str, repeat: int) -> None:
    times, outcome = [], ""
    peak_before = peak_mib()
    for _ in range(repeat):
        started = time.monotonic()
        try:
            found = bounded.extract(data, content_type=content_type, filename=filename)
            outcome = f"ok, {sum(len(p) for p in found.pages) if found else 0:,} characters"
        except extraction.ExtractionError as exc:
            outcome = str(exc)
        times.append(time.monotonic() - started)
    print(
        f"{label:<44} {len(data) / 1024 / 1024:7.1f} MiB  p50 {statistics.median(times):6.2f} s  "
        f"peak RSS +{peak_mib() - peak_before:5.1f} MiB  {outcome[:110]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bomb-mib", type=int, default=2048, help="the bomb's inflated size")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()

    print(f"worker RSS at start: {rss_mib():.0f} MiB")
    bomb = make_zip_bomb_docx(expanded_mib=options.bomb_mib)
    liar = understate_member_size(bomb, "word/document.xml", 4096)
    cases = [
        (f"DOCX bomb ({options.bomb_mib} MiB, honest header)", bomb, DOCX, "bomb.docx"),
        (f"DOCX bomb ({options.bomb_mib} MiB, header says 4 KiB)", liar, DOCX, "liar.docx"),
        ("DOCX, legal, 20 MiB of XML", make_large_docx(1000, 3000), DOCX, "large.docx"),
        ("PDF of 6000 blank pages", make_pdf_with_blank_pages(6000), "application/pdf", "p.pdf"),
        (
            "demo NDA (PDF)",
            (ROOT / "vaults/demo/files/NDA.pdf").read_bytes(),
            "application/pdf",
            "NDA.pdf",
        ),
        (
            "demo MSA (DOCX)",
            (ROOT / "vaults/demo/files/Master-Services-Agreement.docx").read_bytes(),
            DOCX,
            "MSA.docx",
        ),
        ("plain text, 5 MiB", b"The tenant shall pay rent. " * 200_000, "text/plain", "a.txt"),
    ]
    for label, data, content_type, filename in cases:
        measure(label, data, content_type, filename, options.repeat)
    print(f"worker RSS at the end: {rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
