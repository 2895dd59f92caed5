"""Search through the database's own full-text engine (SQLite FTS5 or PostgreSQL, whichever the
suite runs on; CI runs both)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.vaults.conftest import AddDocument
from vaults import search, selectors, services
from vaults.models import Vault, VaultObject
from vaults.search.terms import query_terms

DOCS = {
    "license.txt": "The patent license terminates automatically if the licensee sues the licensor "
    "for infringement of any licensed patents.",
    "lease.txt": "The tenant shall pay rent monthly in advance. The landlord maintains the roof.",
    "nda.txt": "The receiving party shall keep the confidential information secret for five years.",
    "msa.txt": "Each party's liability is capped at the fees paid in the previous twelve months.",
}


@pytest.fixture
def documents(vault: Vault, add_document: AddDocument) -> dict[str, VaultObject]:
    return {name: add_document(vault, name, text) for name, text in DOCS.items()}


def filenames(vault: Vault, query: str, **kwargs: object) -> list[str]:
    results = selectors.chunk_search(query=query, vault_ids=[vault.id], **kwargs)  # type: ignore[arg-type]
    return [r.chunk.object.filename for r in results]


def test_it_runs_on_the_configured_engine() -> None:
    assert search.backend_name() in {"sqlite-fts5-bm25", "postgresql-ts_rank_cd"}
    assert connection.vendor in search.backend_name()


def test_a_question_finds_the_passage_without_an_and_of_every_word(
    vault: Vault, documents: dict[str, VaultObject]
) -> None:
    found = filenames(vault, "When do patent licenses end if the licensee sues?")
    assert found[0] == "license.txt"


def test_stems_match(vault: Vault, documents: dict[str, VaultObject]) -> None:
    assert filenames(vault, "paying rents")[0] == "lease.txt"
    assert filenames(vault, "capping liabilities")[0] == "msa.txt"


def test_chunks_matching_more_content_words_rank_higher(
    vault: Vault, add_document: AddDocument
) -> None:
    add_document(vault, "one.txt", "The indemnity applies.")
    add_document(vault, "two.txt", "The indemnity applies and the liability cap applies.")
    results = selectors.chunk_search(query="indemnity liability cap", vault_ids=[vault.id])
    assert [r.chunk.object.filename for r in results] == ["two.txt", "one.txt"]
    assert results[0].score > results[1].score > 0


def test_stop_words_alone_still_search() -> None:
    assert query_terms("What is the term of the NDA?") == ["term", "nda"]
    assert query_terms("the") == ["the"]
    assert query_terms("") == []


@pytest.mark.parametrize(
    "query",
    ['"', "NEAR(", "*", ":", "'", "indemn*", 'term" OR "', "a:b", "NOT", "AND OR", "(", ")",
     "-term", "term^2", "{x}", "\\", "%", "_", "\u2019", "\x00", "條款 期限", "Ünïcödé café",
     "' OR 1=1 --", "col:rent", "NEAR(rent tenant, 2)", "x" * 5000, "🙂"],
)  # fmt: skip
def test_hostile_queries_never_raise(
    vault: Vault, documents: dict[str, VaultObject], query: str
) -> None:
    results = selectors.chunk_search(query=query, vault_ids=[vault.id], top_k=5)
    assert isinstance(results, list)


def test_operators_are_searched_as_words(vault: Vault, documents: dict[str, VaultObject]) -> None:
    assert filenames(vault, 'NEAR(tenant "roof"*') == ["lease.txt"]


def test_unicode_text_is_found(vault: Vault, add_document: AddDocument) -> None:
    add_document(vault, "fr.txt", "Le locataire paie le loyer. Café résiliation.")
    assert filenames(vault, "cafe résiliation") == ["fr.txt"]


def test_search_is_scoped_to_the_vaults_and_objects_given(
    vault: Vault, documents: dict[str, VaultObject], add_document: AddDocument
) -> None:
    other = services.vault_create(organization=vault.organization, name="Other")
    add_document(other, "other-lease.txt", "The tenant shall pay rent.")

    assert filenames(vault, "tenant rent") == ["lease.txt"]
    assert filenames(vault, "rent", object_ids=[documents["nda.txt"].id]) == []
    assert filenames(vault, "rent", object_ids=[]) == []
    both = selectors.chunk_search(query="tenant rent", vault_ids=[vault.id, other.id])
    assert {r.chunk.object.filename for r in both} == {"lease.txt", "other-lease.txt"}


def test_deleted_and_reingested_objects_leave_no_stale_matches(
    vault: Vault, documents: dict[str, VaultObject]
) -> None:
    services.object_delete(obj=documents["lease.txt"])
    assert filenames(vault, "tenant rent roof") == []

    nda = documents["nda.txt"]
    services.object_ingest_run(object_id=nda.id)
    assert filenames(vault, "confidential information") == ["nda.txt"]


def test_top_k_limits_results(vault: Vault, add_document: AddDocument) -> None:
    for i in range(6):
        add_document(vault, f"{i}.txt", f"Indemnity clause number {i}.")
    assert len(selectors.chunk_search(query="indemnity", vault_ids=[vault.id], top_k=4)) == 4
