"""The retrieval evaluation (bench/retrieval_eval.py) at CI size: three real documents in three
formats, the plain-language questions about them, on whichever database the suite runs on."""

from __future__ import annotations

import pytest

from bench import retrieval_eval
from tests.conftest import Member
from vaults import services


def test_plain_language_questions_find_their_clause_in_the_top_5(alice: Member) -> None:
    names = retrieval_eval.available(retrieval_eval.CI_DOCUMENTS)
    if len(names) < len(retrieval_eval.CI_DOCUMENTS):
        pytest.skip("the licence texts of /usr/share/common-licenses are not on this system")
    questions = retrieval_eval.CI_QUESTIONS
    assert len(questions) >= 12
    vault = services.vault_create(organization=alice.organization, name="evaluation")
    retrieval_eval.ingest(vault, names)

    report = retrieval_eval.evaluate(vault, questions, k=5)

    misses = [o.question.text for o in report.outcomes if o.rank is None]
    assert report.recall >= 0.9, misses
    assert report.mrr >= 0.6


def test_the_evaluation_counts_a_miss_when_the_passage_is_not_in_a_hit(alice: Member) -> None:
    vault = services.vault_create(organization=alice.organization, name="evaluation")
    retrieval_eval.ingest(vault, retrieval_eval.available(["Office-Lease.md"]))
    question = retrieval_eval.Question(
        "How big is the deposit?", "Office-Lease.md", "a passage no lease contains"
    )

    report = retrieval_eval.evaluate(vault, (question,), k=5)

    assert report.recall == 0.0 and report.mrr == 0.0 and report.outcomes[0].rank is None
