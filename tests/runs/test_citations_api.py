"""Run details carry the run's citations and grounding counts; another organization's run is
not found."""

from __future__ import annotations

import pytest

from runs.models import Citation
from tests.conftest import Member
from tests.runs.test_grounding import OUTPUT, VERBATIM, finish, running_run
from vaults import services as vault_services
from vaults.models import Vault, VaultObject


@pytest.fixture
def demo(alice: Member) -> Vault:
    return vault_services.demo_vault_create(organization=alice.organization)


def test_details_list_each_quotation_with_its_status_and_place(alice: Member, demo) -> None:
    run = running_run(alice, vault_ids=[demo.id])
    finish(run, OUTPUT)
    nda = VaultObject.objects.get(vault=demo, filename="NDA.pdf")

    response = alice.client.get(f"/agent/v1/run/{run.id}/details")

    assert response.status_code == 200
    body = response.json()
    assert body["grounding"] == {"quotes": 3, "verified": 1, "altered": 1, "notFound": 1}
    verified, altered, invented = body["citations"]
    stored = Citation.objects.get(run=run, index=0)
    assert verified == {
        "quote": VERBATIM,
        "status": "verified",
        "objectId": nda.id,
        "vaultId": demo.id,
        "filename": "NDA.pdf",
        "pageStart": 3,
        "pageEnd": 3,
        "section": "9. Indemnity",
        "charStart": stored.char_start,
        "charEnd": stored.char_end,
        "matchedText": None,
        "similarity": None,
        "diff": None,
    }
    assert altered["status"] == "altered" and altered["matchedText"].startswith("In no event")
    assert {"op": "delete", "text": "U.S."} in altered["diff"]
    assert invented["status"] == "not_found" and invented["objectId"] is None
    assert body["result"]["output"] == OUTPUT  # the seed's fields are unchanged


def test_a_run_without_quotations_has_empty_citations(alice: Member) -> None:
    run = running_run(alice)
    finish(run, "All clear.")

    body = alice.client.get(f"/agent/v1/run/{run.id}/details").json()

    assert body["citations"] == []
    assert body["grounding"] == {"quotes": 0, "verified": 0, "altered": 0, "notFound": 0}


def test_another_organizations_citations_are_not_found(alice: Member, charlie: Member) -> None:
    run = running_run(alice)
    finish(run, f'"{VERBATIM}"')

    response = charlie.client.get(f"/agent/v1/run/{run.id}/details")

    assert response.status_code == 404
    assert VERBATIM not in response.content.decode()
