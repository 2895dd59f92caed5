"""Search through the database's own full-text engine (SQLite FTS5 or PostgreSQL, whichever the
suite runs on; CI runs both)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.conftest import Member
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


# --- Questions as people ask them ---------------------------------------------------------------


def test_plain_words_find_the_drafted_words(vault: Vault, add_document: AddDocument) -> None:
    add_document(
        vault,
        "patent.txt",
        "If You institute patent litigation against any entity, the patent licenses granted "
        "to You under this License shall terminate as of the date such litigation is filed.",
    )
    add_document(vault, "fees.txt", "Customer shall pay each undisputed invoice within 45 days.")
    add_document(vault, "share.txt", "The Recipient shall not disclose Confidential Information.")

    assert filenames(vault, "what if I sue someone?") == ["patent.txt"]
    assert filenames(vault, "when does it end?") == ["patent.txt"]
    assert filenames(vault, "how much do we pay?") == ["fees.txt"]
    assert filenames(vault, "can they share our secrets?") == ["share.txt"]


def test_a_concept_is_one_or_group_not_an_and_of_its_synonyms(
    vault: Vault, add_document: AddDocument
) -> None:
    add_document(vault, "a.txt", "Either party may terminate on notice.")
    add_document(vault, "b.txt", "This Agreement shall expire after one year.")
    add_document(vault, "c.txt", "The premises include the roof.")

    assert sorted(filenames(vault, "when does the contract end?")) == ["a.txt", "b.txt"]


def test_the_asked_word_outranks_its_synonyms(vault: Vault, add_document: AddDocument) -> None:
    add_document(vault, "synonym.txt", "Each party may seek remedies for a breach of contract.")
    add_document(vault, "asked.txt", "Each party may seek remedies if the other breaks the rules.")

    assert filenames(vault, "what if someone breaks it?") == ["asked.txt", "synonym.txt"]


def test_a_phrase_in_the_table_finds_its_drafted_words(
    vault: Vault, add_document: AddDocument
) -> None:
    add_document(vault, "waiver.txt", "The Affirmer waives and surrenders all copyright.")
    add_document(vault, "other.txt", "Up and away the author went to give a talk.")

    assert filenames(vault, "does the author give up copyright?")[0] == "waiver.txt"


def test_a_phrasal_verb_with_its_object_inside_finds_its_drafted_words(
    vault: Vault, add_document: AddDocument
) -> None:
    add_document(vault, "lease.txt", "Tenant may not sublet the Premises without consent.")
    add_document(vault, "other.txt", "The office is out of the way; rent it is due monthly.")

    assert filenames(vault, "can the tenant rent the office out?")[0] == "lease.txt"


def test_section_headings_rank_their_chunks(vault: Vault, add_document: AddDocument) -> None:
    body = "The parties agree to the obligations set out here in full. " * 3
    add_document(
        vault,
        "msa.txt",
        f"1. Indemnification\n\n{body}\n\n2. General\n\n{body} Indemnification is excluded.",
    )

    results = selectors.chunk_search(query="indemnification", vault_ids=[vault.id])

    assert [r.chunk.section for r in results] == ["1. Indemnification", "2. General"]


def test_a_word_no_document_holds_is_relaxed_to_its_stem_prefix(
    vault: Vault, add_document: AddDocument
) -> None:
    add_document(vault, "grant.txt", "Each Contributor grants You a licensee-friendly grant.")
    add_document(vault, "roof.txt", "The landlord maintains the roof.")

    # "licensor" is in no document; its stem's prefix finds "licensee".
    assert filenames(vault, "licensor") == ["grant.txt"]


def test_the_search_api_returns_each_chunk_s_section(
    alice: Member, vault: Vault, add_document: AddDocument
) -> None:
    add_document(vault, "lease.md", "# Lease\n\n## 4. Security Deposit\n\nTenant shall deposit.")

    response = alice.client.post(
        f"/vault/{vault.id}/search", {"query": "how big is the deposit?"}, format="json"
    )

    assert response.status_code == 200
    [chunk] = response.json()["chunks"]
    assert chunk["section"] == "4. Security Deposit" and chunk["page_start"] is None
    assert chunk["text"] == "Lease\n\n4. Security Deposit\n\nTenant shall deposit."
