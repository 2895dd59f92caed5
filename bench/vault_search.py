"""Vault search and ingest benchmark (not a test).

    python bench/vault_search.py                      # SQLite, in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python bench/vault_search.py

Builds a synthetic corpus of plain-text documents (Zipf-distributed legal vocabulary, numbered
clauses) through the real ingest path (store, extract, chunk, index) until it holds --chunks
chunks, reporting ingest throughput in MB of text per second; then times --queries varied
searches (questions, keyword lists, rare and very common terms, operators and punctuation)
through the same selector the API and the agent tools use, reporting p50/p99.

It never touches your data: SQLite gets a temporary file; PostgreSQL gets a dedicated database
(`agentexec_bench` on the server of DATABASE_URL), created fresh and dropped afterwards.
Targets at 100,000 chunks: search p50 <= 20 ms, p99 <= 80 ms; ingest >= 2 MB/s.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_DB = "agentexec_bench"

LEGAL_WORDS = """
agreement party parties confidential information disclose disclosure recipient discloser
term termination terminate notice days months years breach cure remedy remedies injunctive
relief indemnify indemnity indemnification defend harmless liability liable damages
consequential incidental indirect cap aggregate exceed fees payment invoice interest late
tax taxes license licensee licensor patent copyright trademark intellectual property
ownership assign assignment successor consent affiliate subsidiary governing law
jurisdiction court courts venue arbitration arbitrator dispute warranty warranties
disclaim merchantability fitness purpose representation covenant solicit solicitation
employee employees contractor hire non compete competition restrictive territory exclusive
nonexclusive royalty perpetual irrevocable sublicense audit records insurance coverage
insured premium deductible lease tenant landlord premises rent deposit security
maintenance repair alteration sublet default eviction holdover renewal option extend
extension commencement expiration survive survival force majeure act god pandemic strike
government order compliance regulation statute privacy data personal processing controller
processor breach notification encryption subprocessor transfer export sanctions anti
bribery corruption escrow milestone deliverable acceptance specification statement work
service level credit uptime support maintenance response resolution severity escalation
change order pricing discount most favored customer supplier vendor purchaser seller buyer
goods shipment delivery title risk loss inspection rejection return refund credit note
""".split()  # noqa: SIM905

STOP_WORDS = """
the of and to a in that is for be by with as on or shall any this such will may not its
are from at which all other each has have been under without
""".split()  # noqa: SIM905


def make_vocabulary(rng: random.Random, size: int) -> list[str]:
    """Stop words first (the most frequent), then legal words, then invented rarer words."""
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]
    invented: set[str] = set()
    while len(invented) < size - len(STOP_WORDS) - len(LEGAL_WORDS):
        invented.add("".join(rng.choices(syllables, k=rng.randint(2, 4))))
    legal = LEGAL_WORDS[:]
    rng.shuffle(legal)
    return STOP_WORDS + legal + sorted(invented)


class TextMaker:
    def __init__(self, seed: int = 7, vocabulary: int = 30_000) -> None:
        self.rng = random.Random(seed)
        self.words = make_vocabulary(self.rng, vocabulary)
        weights = [1.0 / (rank + 1) ** 1.05 for rank in range(len(self.words))]  # Zipf
        total = 0.0
        self.cumulative = []
        for w in weights:
            total += w
            self.cumulative.append(total)

    def draw(self, k: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=k)

    def document(self, target_chars: int) -> str:
        parts: list[str] = []
        size, clause = 0, 0
        while size < target_chars:
            clause += 1
            heading = f"{clause}. {' '.join(self.draw(2)).title()}"
            sentences = []
            for _ in range(self.rng.randint(3, 7)):
                words = self.draw(self.rng.randint(8, 24))
                sentences.append(" ".join(words).capitalize() + ".")
            paragraph = f"{heading}\n{' '.join(sentences)}\n\n"
            parts.append(paragraph)
            size += len(paragraph)
        return "".join(parts)

    def queries(self, n: int) -> list[str]:
        rng = random.Random(11)
        content = [w for w in self.words if w not in STOP_WORDS]
        common, rare = content[:60], content[2000:]
        made: list[str] = []
        hostile = ['"', "NEAR(", "*", ":", "'", 'indemnity" OR "', "col:rent", "条款 期限", "-x"]
        while len(made) < n:
            kind = len(made) % 6
            if kind == 0:  # a question in plain words
                a, b = rng.sample(LEGAL_WORDS, 2)
                made.append(f"When does the {a} end if the {b} is breached?")
            elif kind == 1:  # keywords, mostly common
                made.append(" ".join(rng.sample(common, rng.randint(2, 4))))
            elif kind == 2:  # rare words
                made.append(" ".join(rng.sample(rare, rng.randint(1, 3))))
            elif kind == 3:  # a long question mixing both
                made.append(
                    "what are the "
                    + " and ".join(rng.sample(common, 3) + rng.sample(rare, 2))
                    + " obligations?"
                )
            elif kind == 4:  # the most common content words: the worst case for ranking
                made.append(" ".join(common[: rng.randint(1, 5)]))
            else:
                made.append(rng.choice(hostile))
        return made


def prepare_database(keep: bool) -> tuple[str, object]:
    """Point DATABASE_URL at a database of our own; returns (description, cleanup)."""
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{BENCH_DB}"))

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            if not keep:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")

        return f"PostgreSQL database {BENCH_DB}", drop
    directory = tempfile.mkdtemp(prefix="agentexec-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/bench.sqlite3"

    def remove() -> None:
        if keep:
            print(f"kept {directory}/bench.sqlite3")
        else:
            shutil.rmtree(directory, ignore_errors=True)

    return f"SQLite {directory}/bench.sqlite3", remove


def setup_django(media_root: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentexec.settings")
    os.environ["MEDIA_ROOT"] = media_root
    from django.conf import settings

    if "vaults" not in settings.INSTALLED_APPS:
        settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "vaults"]
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--doc-chars", type=int, default=1_000_000, help="size of each document")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    where, cleanup = prepare_database(args.keep)
    media = tempfile.mkdtemp(prefix="agentexec-bench-media-")
    setup_django(media)
    try:
        run(args, where)
    finally:
        cleanup()  # type: ignore[operator]
        shutil.rmtree(media, ignore_errors=True)


def run(args: argparse.Namespace, where: str) -> None:
    from django.db import connection

    from agentexec.tenancy.models import Organization
    from vaults import search, selectors, services
    from vaults.models import Chunk

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"database: {where} ({connection.vendor}, backend {search.backend_name()})")
    organization = Organization.objects.create(name="bench")
    vault = services.vault_create(organization=organization, name="bench corpus")
    maker = TextMaker()

    chunks, text_bytes, ingest_seconds, documents = 0, 0, 0.0, 0
    while chunks < args.chunks:
        text = maker.document(args.doc_chars)
        data = text.encode()
        t0 = time.perf_counter()
        obj = services.object_create_with_content(
            vault=vault, filename=f"doc-{documents:04d}.txt", content=[data]
        )
        obj = services.object_ingest_run(object_id=obj.id) or obj
        ingest_seconds += time.perf_counter() - t0
        assert obj.status == "completed", obj.error
        documents += 1
        chunks += obj.chunk_count or 0
        text_bytes += len(data)
        if documents % 10 == 0:
            print(f"  ingested {documents} documents, {chunks} chunks", flush=True)
    stored = Chunk.objects.filter(vault=vault).count()
    mb = text_bytes / 1e6
    print(
        f"ingest: {documents} documents, {mb:.1f} MB of plain text, {stored} chunks in "
        f"{ingest_seconds:.1f} s = {mb / ingest_seconds:.2f} MB/s"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE vaults_chunk")

    queries = maker.queries(args.queries)
    for q in queries[:10]:  # warm the caches, as a running server would be
        selectors.chunk_search(query=q, vault_ids=[vault.id], top_k=args.top_k)
    timings: list[float] = []
    empty = 0
    for q in queries:
        t0 = time.perf_counter()
        results = selectors.chunk_search(query=q, vault_ids=[vault.id], top_k=args.top_k)
        timings.append((time.perf_counter() - t0) * 1000)
        empty += not results
    print(
        f"search: {len(queries)} queries over {stored} chunks, top {args.top_k}: "
        f"p50 {percentile(timings, 50):.1f} ms, p99 {percentile(timings, 99):.1f} ms, "
        f"mean {statistics.mean(timings):.1f} ms, max {max(timings):.1f} ms "
        f"({empty} queries found nothing)"
    )
    worst = sorted(zip(timings, queries, strict=True), reverse=True)[:3]
    for ms, q in worst:
        print(f"  slowest: {ms:.1f} ms  {q[:70]!r}")


if __name__ == "__main__":
    main()
