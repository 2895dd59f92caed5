"""Retrieval evaluation: do plain-language questions find the passage that answers them?

    python bench/retrieval_eval.py                    # SQLite, in a temporary file
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python bench/retrieval_eval.py
    python bench/retrieval_eval.py --min-recall 0.9   # exit 1 below the threshold

Real legal texts, none written for this service: the licences Debian ships in
/usr/share/common-licenses (Apache-2.0, GPL-3, MPL-2.0, CC0-1.0, Artistic) and the demo
agreements (vaults/demo/files: an NDA as PDF, an MSA as DOCX, a lease as Markdown). Each
question is asked as a non-lawyer would, with a short verbatim passage of the clause that
answers it; a question is found when a hit among the top k holds that passage (whitespace
aside). The documents go through the real ingest path (store, bounded extraction, chunking,
indexing) into a fresh vault, and the questions through the selector the API and the agent
tools use. Prints recall@k and MRR for the database's search backend.

It never touches your data: SQLite gets a temporary file; PostgreSQL gets a dedicated database
(`agentexec_retrieval_eval` on the server of DATABASE_URL), created fresh and dropped after.
tests/vaults/test_retrieval_eval.py runs a part of it (CI_DOCUMENTS, CI_QUESTIONS) in CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from vaults.models import Vault

ROOT = Path(__file__).resolve().parent.parent
LICENSES = Path("/usr/share/common-licenses")
DEMO = ROOT / "vaults" / "demo" / "files"
EVAL_DB = "agentexec_retrieval_eval"

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# filename in the vault -> (path, content type)
DOCUMENTS: dict[str, tuple[Path, str]] = {
    "Apache-2.0.txt": (LICENSES / "Apache-2.0", "text/plain"),
    "GPL-3.txt": (LICENSES / "GPL-3", "text/plain"),
    "MPL-2.0.txt": (LICENSES / "MPL-2.0", "text/plain"),
    "CC0-1.0.txt": (LICENSES / "CC0-1.0", "text/plain"),
    "Artistic.txt": (LICENSES / "Artistic", "text/plain"),
    "NDA.pdf": (DEMO / "NDA.pdf", "application/pdf"),
    "Master-Services-Agreement.docx": (DEMO / "Master-Services-Agreement.docx", DOCX),
    "Office-Lease.md": (DEMO / "Office-Lease.md", "text/markdown"),
}


@dataclass(frozen=True)
class Question:
    text: str
    document: str  # filename in DOCUMENTS
    passage: str  # verbatim (whitespace aside) in the chunk that answers


QUESTIONS: tuple[Question, ...] = (
    # Apache License 2.0
    Question(
        "What happens to my patent license if I sue someone?",
        "Apache-2.0.txt",
        "shall terminate as of the date such litigation is filed",
    ),
    Question(
        "Do I have to keep the copyright notices when I share my changed version?",
        "Apache-2.0.txt",
        "You must retain, in the Source form of any Derivative Works",
    ),
    Question(
        "Am I allowed to use their brand name and logo?",
        "Apache-2.0.txt",
        "This License does not grant permission to use the trade names",
    ),
    Question(
        "Does the software come with a guarantee?",
        "Apache-2.0.txt",
        'on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND',
    ),
    Question(
        "Can I make money by offering support for the software?",
        "Apache-2.0.txt",
        "You may choose to offer, and charge a fee for, acceptance of support",
    ),
    Question(
        "Do I need to mark which files I changed?",
        "Apache-2.0.txt",
        "You must cause any modified files to carry prominent notices stating that You changed",
    ),
    Question(
        "If I send them my improvements, under what terms are they used?",
        "Apache-2.0.txt",
        "shall be under the terms and conditions of this License, without any additional terms",
    ),
    # GNU GPL 3
    Question(
        "Can I charge money for copies?",
        "GPL-3.txt",
        "You may charge any price or no price for each copy that you convey",
    ),
    Question(
        "What happens if I break the rules of the license?",
        "GPL-3.txt",
        "will automatically terminate your rights under this License",
    ),
    Question(
        "How do I get my rights back after a violation?",
        "GPL-3.txt",
        "your license from a particular copyright holder is reinstated",
    ),
    Question(
        "If I give someone the compiled program, do I also have to give them the source code?",
        "GPL-3.txt",
        "also convey the machine-readable Corresponding Source",
    ),
    Question(
        "Is there any warranty on the program?",
        "GPL-3.txt",
        "THERE IS NO WARRANTY FOR THE PROGRAM",
    ),
    Question(
        "Can I follow a newer version of the license instead?",
        "GPL-3.txt",
        "either of that numbered version or of any later version",
    ),
    Question(
        "Do I have to agree to the license just to run the program?",
        "GPL-3.txt",
        "You are not required to accept this License in order to receive or run a copy",
    ),
    Question(
        "If I sell a device with the software, must I give buyers what they need to install "
        "changed versions?",
        "GPL-3.txt",
        "must be accompanied by the Installation Information",
    ),
    Question(
        "Can I ask for royalties from people I pass the program on to?",
        "GPL-3.txt",
        "you may not impose a license fee, royalty, or other charge",
    ),
    # Mozilla Public License 2.0
    Question(
        "When does my license end if I stop following the terms?",
        "MPL-2.0.txt",
        "will terminate automatically if You fail to comply with any of its terms",
    ),
    Question(
        "What if I claim a contributor's code infringes my patent?",
        "MPL-2.0.txt",
        "If You initiate litigation against any entity by asserting a patent infringement claim",
    ),
    Question(
        "Where can someone be sued over this license?",
        "MPL-2.0.txt",
        "Any litigation relating to this License may be brought only in the courts",
    ),
    Question(
        "Can I mix this code with my own code in a bigger product?",
        "MPL-2.0.txt",
        "You may create and distribute a Larger Work under terms of Your choice",
    ),
    Question(
        "Can I delete the license notices from the files?",
        "MPL-2.0.txt",
        "You may not remove or alter the substance of any license notices",
    ),
    # CC0 1.0
    Question(
        "Does the author give up their copyright completely?",
        "CC0-1.0.txt",
        "waives, abandons, and surrenders all of Affirmer's Copyright",
    ),
    Question(
        "Are trademark or patent rights given up too?",
        "CC0-1.0.txt",
        "No trademark or patent rights held by Affirmer are waived",
    ),
    # Artistic License
    Question(
        "Can I sell this package?",
        "Artistic.txt",
        "You may not charge a fee for this Package itself",
    ),
    Question(
        "How much can I ask for making copies?",
        "Artistic.txt",
        "You may charge a reasonable copying fee for any distribution of this Package",
    ),
    # Demo NDA (PDF)
    Question("How long does the NDA last?", "NDA.pdf", "continues for a term of five (5) years"),
    Question(
        "What is the most Northwind would have to pay if things go wrong?",
        "NDA.pdf",
        "exceed ten thousand U.S. dollars",
    ),
    Question(
        "Can Bluejay hire people who work for Northwind?",
        "NDA.pdf",
        "solicit for employment or hire any employee or contractor of Northwind",
    ),
    Question(
        "What do we do with their documents when the deal is over?",
        "NDA.pdf",
        "shall return or destroy all Confidential Information",
    ),
    Question(
        "What if a court orders us to hand over their secrets?",
        "NDA.pdf",
        "required by law, regulation or court order to disclose Confidential Information",
    ),
    # Demo MSA (DOCX)
    Question(
        "How long do we have to pay an invoice?",
        "Master-Services-Agreement.docx",
        "pay each undisputed invoice within forty-five (45) days after receipt",
    ),
    Question(
        "Who owns the work the provider builds for us?",
        "Master-Services-Agreement.docx",
        "Customer owns all deliverables created specifically for Customer",
    ),
    Question(
        "Can we end the contract early without a reason?",
        "Master-Services-Agreement.docx",
        "Customer may terminate this Agreement or any SOW for convenience",
    ),
    Question(
        "How quickly must they tell us about a data leak?",
        "Master-Services-Agreement.docx",
        "within seventy-two (72) hours",
    ),
    Question(
        "What happens if the delivered work is faulty?",
        "Master-Services-Agreement.docx",
        "Provider warrants that the Deliverables will conform in all material respects",
    ),
    # Demo lease (Markdown)
    Question(
        "How big is the deposit?", "Office-Lease.md", "Tenant shall deposit US$90,000 with Landlord"
    ),
    Question(
        "Can the tenant rent the office out to someone else?",
        "Office-Lease.md",
        "Tenant may not assign this Lease or sublet",
    ),
    Question(
        "What is the fee if rent is paid late?",
        "Office-Lease.md",
        "incurs a late charge of five percent (5%)",
    ),
    Question(
        "Can we stay longer when the lease ends?",
        "Office-Lease.md",
        "Tenant has one option to extend the term",
    ),
)

# The part CI runs: three documents in three formats, the questions about them.
CI_DOCUMENTS = ("Apache-2.0.txt", "MPL-2.0.txt", "Office-Lease.md")
CI_QUESTIONS = tuple(q for q in QUESTIONS if q.document in CI_DOCUMENTS)


@dataclass(frozen=True)
class Outcome:
    question: Question
    rank: int | None  # 1-based rank of the first hit holding the passage; None if not found
    top: list[str]  # "filename [section]" of the hits, for the report


@dataclass(frozen=True)
class Report:
    outcomes: list[Outcome]
    k: int

    @property
    def recall(self) -> float:
        found = sum(1 for o in self.outcomes if o.rank is not None)
        return found / len(self.outcomes) if self.outcomes else 0.0

    @property
    def mrr(self) -> float:
        ranks = [1 / o.rank for o in self.outcomes if o.rank is not None]
        return sum(ranks) / len(self.outcomes) if self.outcomes else 0.0


def _normal(text: str) -> str:
    return " ".join(text.split())


def ingest(vault: Vault, names: tuple[str, ...] | list[str]) -> None:
    """Each document through the real ingest path; raises if one does not complete."""
    from vaults import services

    for name in names:
        path, content_type = DOCUMENTS[name]
        obj = services.object_create_with_content(
            vault=vault, filename=name, content=[path.read_bytes()], content_type=content_type
        )
        obj = services.object_ingest_run(object_id=obj.id) or obj
        if obj.status != "completed":
            raise RuntimeError(f"{name} did not ingest: {obj.status} {obj.error}")


def evaluate(
    vault: Vault, questions: tuple[Question, ...], *, k: int = 5, whole_vault: bool = False
) -> Report:
    """Each question searched in its document (as a reviewer or an agent asks about the
    document in front of them), or with `whole_vault` across every document: there, a general
    question ("is there a warranty?") has right answers in other documents too, which count
    as misses."""
    from vaults import selectors
    from vaults.models import VaultObject

    ids = dict(VaultObject.objects.filter(vault=vault).values_list("filename", "id"))
    outcomes = []
    for question in questions:
        results = selectors.chunk_search(
            query=question.text,
            vault_ids=[vault.id],
            object_ids=None if whole_vault else [ids[question.document]],
            top_k=k,
        )
        rank = next(
            (
                n
                for n, r in enumerate(results, start=1)
                if r.chunk.object.filename == question.document
                and _normal(question.passage) in _normal(r.chunk.text)
            ),
            None,
        )
        top = [f"{r.chunk.object.filename} [{r.chunk.section}]" for r in results]
        outcomes.append(Outcome(question, rank, top))
    return Report(outcomes, k)


def available(names: tuple[str, ...] | list[str]) -> list[str]:
    return [n for n in names if DOCUMENTS[n][0].exists()]


# --- Script -----------------------------------------------------------------------------------


def _prepare_database() -> tuple[str, object]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        import psycopg

        parts = urlsplit(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {EVAL_DB}")
            conn.execute(f"CREATE DATABASE {EVAL_DB}")
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{EVAL_DB}"))

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {EVAL_DB}")

        return f"PostgreSQL database {EVAL_DB}", drop
    directory = tempfile.mkdtemp(prefix="agentexec-eval-")
    os.environ["DATABASE_URL"] = f"sqlite:///{directory}/eval.sqlite3"
    return f"SQLite {directory}/eval.sqlite3", lambda: shutil.rmtree(directory, True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--min-recall", type=float, default=0.0)
    parser.add_argument("--ci", action="store_true", help="only the part CI runs")
    parser.add_argument("--verbose", "-v", action="store_true", help="list every question")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    where, cleanup = _prepare_database()
    media = tempfile.mkdtemp(prefix="agentexec-eval-media-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agentexec.settings")
    os.environ["MEDIA_ROOT"] = media
    try:
        import logging

        import django

        django.setup()
        logging.disable(logging.WARNING)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return _run(args, where)
    finally:
        cleanup()  # type: ignore[operator]
        shutil.rmtree(media, ignore_errors=True)


def _run(args: argparse.Namespace, where: str) -> int:
    from agentexec.tenancy.models import Organization
    from vaults import search, services

    names = available(CI_DOCUMENTS if args.ci else tuple(DOCUMENTS))
    questions = tuple(q for q in (CI_QUESTIONS if args.ci else QUESTIONS) if q.document in names)
    vault = services.vault_create(
        organization=Organization.objects.create(name="eval"), name="retrieval evaluation"
    )
    ingest(vault, names)
    from django.db import connection

    if connection.vendor == "postgresql":  # as autovacuum would: word statistics for planning
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE vaults_chunk")
    report = evaluate(vault, questions, k=args.k)
    across = evaluate(vault, questions, k=args.k, whole_vault=True)
    print(f"database: {where}, backend {search.backend_name()}")
    print(f"documents: {len(names)}, questions: {len(questions)}")
    for outcome in report.outcomes:
        if args.verbose or outcome.rank is None:
            mark = f"rank {outcome.rank}" if outcome.rank else "MISS  "
            print(f"  {mark}  {outcome.question.text}")
            if outcome.rank is None:
                print(f"          wanted {outcome.question.document}: {outcome.question.passage}")
                for hit in outcome.top:
                    print(f"          got {hit}")
    print(
        f"recall@{args.k}: {report.recall:.3f}  MRR: {report.mrr:.3f}  (in the question's document)"
    )
    print(
        f"recall@{args.k}: {across.recall:.3f}  MRR: {across.mrr:.3f}  (across the whole vault: "
        "a general question's right answers in other documents count as misses)"
    )
    if report.recall < args.min_recall:
        print(f"recall@{args.k} is under --min-recall {args.min_recall}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
