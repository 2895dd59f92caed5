import pytest

from tests.conftest import Member
from vaults import selectors, services
from vaults.models import Chunk, ObjectStatus, Vault, VaultObject


def test_it_creates_the_demo_vault_with_every_sample_ingested(alice: Member) -> None:
    vault = services.demo_vault_create(organization=alice.organization)

    objects = {o.filename: o for o in VaultObject.objects.filter(vault=vault)}
    assert set(objects) == {"NDA.pdf", "Master-Services-Agreement.docx", "Office-Lease.md"}
    assert all(o.status == ObjectStatus.COMPLETED and o.chunk_count for o in objects.values())
    assert objects["NDA.pdf"].page_count == 4
    assert (
        vault.total_objects == 3 and vault.total_chunks == Chunk.objects.filter(vault=vault).count()
    )


def test_it_is_idempotent(alice: Member) -> None:
    first = services.demo_vault_create(organization=alice.organization)
    second = services.demo_vault_create(organization=alice.organization)

    assert first.id == second.id
    assert Vault.objects.filter(organization=alice.organization).count() == 1
    assert VaultObject.objects.filter(vault=first).count() == 3


@pytest.mark.parametrize(
    ("question", "clause", "page"),
    [
        ("how long does the agreement last?", "continues for a term of five (5) years", 2),
        ("who indemnifies whom?", "Bluejay shall indemnify, defend and hold harmless", 3),
        ("what is the cap on liability?", "exceed ten thousand U.S. dollars", 3),
        ("which law governs the NDA?", "laws of the State of Delaware", 4),
        ("can they hire our employees? non-solicitation", "solicit for employment", 3),
        ("confidentiality obligations degree of care", "strict confidence", 1),
    ],
)
def test_the_nda_clauses_are_found_on_their_pages(
    alice: Member, question: str, clause: str, page: int
) -> None:
    vault = services.demo_vault_create(organization=alice.organization)
    nda = VaultObject.objects.get(vault=vault, filename="NDA.pdf")

    results = selectors.chunk_search(
        query=question, vault_ids=[vault.id], object_ids=[nda.id], top_k=3
    )

    best = next(r.chunk for r in results if clause in " ".join(r.chunk.text.split()))
    assert best.page_start == best.page_end == page
