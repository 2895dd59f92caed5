"""Quotation checks in the staff UI: marks and labels on the review page, links to the document
viewer with the passage highlighted on its page, the run list's badge and filter."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from runs.models import Citation, Run
from tests.conftest import Member
from tests.runs.test_grounding import INVENTED, OUTPUT, VERBATIM, finish, running_run
from vaults import services as vault_services
from vaults.models import Vault, VaultObject


@pytest.fixture
def demo(alice: Member) -> Vault:
    return vault_services.demo_vault_create(organization=alice.organization)


@pytest.fixture
def checked(alice: Member, demo: Vault) -> Run:
    run = running_run(alice, vault_ids=[demo.id])
    finish(run, OUTPUT)
    return run


def marks(html: str) -> dict[str, str]:
    """data-status of each mark on the page, by the mark's id."""
    return dict(re.findall(r'<span class="cite cite-\w+" id="(cite-\d)" data-status="(\w+)"', html))


def page_of_hit(html: str) -> int:
    """The page number of the section that holds <mark id="hit">."""
    at = html.index('id="hit"')
    return int(re.findall(r'data-page="(\d+)"', html[:at])[-1])


def test_the_review_page_labels_every_quotation(staff: Client, checked: Run) -> None:
    html = staff.get(f"/ui/runs/{checked.id}/").content.decode()

    assert marks(html) == {"cite-0": "verified", "cite-1": "altered", "cite-2": "not_found"}
    assert '<span class="badge cite-label cite-verified">verified</span>' in html
    assert '<span class="badge cite-label cite-altered">altered</span>' in html
    assert '<span class="badge cite-label cite-not_found">not found</span>' in html
    assert "<del>U.S.</del>" in html  # the altered quotation's diff
    assert 'id="grounding"' in html and "1 not found" in html
    invented = html[html.index('id="cite-2"') :]
    assert INVENTED in invented and "cite-link" not in invented.split("</span></span>")[0]


def test_verified_and_altered_quotations_link_to_the_passage(staff: Client, checked: Run) -> None:
    html = staff.get(f"/ui/runs/{checked.id}/").content.decode()
    links = re.findall(r'<a class="cite-link" href="([^"]+)"', html)
    verified, altered = Citation.objects.filter(run=checked, index__in=[0, 1]).order_by("index")

    assert [link.replace("&amp;", "&") for link in links] == [
        f"/ui/vaults/{c.vault_id}/objects/{c.object_id}/view?start={c.char_start}"
        f"&end={c.char_end}#hit"
        for c in (verified, altered)
    ]


def test_the_viewer_highlights_the_passage_on_its_page(staff: Client, checked: Run) -> None:
    citation = Citation.objects.get(run=checked, index=0)

    response = staff.get(
        f"/ui/vaults/{citation.vault_id}/objects/{citation.object_id}/view",
        {"start": str(citation.char_start), "end": str(citation.char_end)},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert page_of_hit(html) == 3 == citation.page_start
    mark = re.search(r'<mark id="hit" class="passage">(.*?)</mark>', html, flags=re.S)
    assert mark is not None and " ".join(mark.group(1).split()) == VERBATIM
    assert html.count("<mark") == 1
    assert [int(n) for n in re.findall(r'data-page="(\d+)"', html)] == [1, 2, 3, 4]


def test_a_passage_across_a_page_break_is_marked_on_both_pages(staff: Client, demo: Vault) -> None:
    nda = VaultObject.objects.get(vault=demo, filename="NDA.pdf")
    offsets = nda.extracted.page_offsets

    html = staff.get(
        f"/ui/vaults/{demo.id}/objects/{nda.id}/view",
        {"start": offsets[1] - 20, "end": offsets[1] + 20},
    ).content.decode()

    assert page_of_hit(html) == 1
    assert html.count("<mark") == 2 and html.count('id="hit"') == 1


def test_the_viewer_shows_the_text_without_a_passage(staff: Client, demo: Vault) -> None:
    lease = VaultObject.objects.get(vault=demo, filename="Office-Lease.md")

    response = staff.get(f"/ui/vaults/{demo.id}/objects/{lease.id}/view?start=x&end=9")

    assert response.status_code == 200
    assert "<mark" not in response.content.decode()
    assert "Premises" in response.content.decode()


def test_the_viewer_is_staff_only(
    client: Client, non_staff: Client, staff: Client, demo: Vault
) -> None:
    nda = VaultObject.objects.get(vault=demo, filename="NDA.pdf")
    url = f"/ui/vaults/{demo.id}/objects/{nda.id}/view"

    assert client.get(url).status_code == 302
    assert non_staff.get(url).status_code == 403
    assert staff.get(f"/ui/vaults/{demo.id}/objects/obj_nope/view").status_code == 404
    assert staff.get(f"/ui/vaults/vault_nope/objects/{nda.id}/view").status_code == 404


def test_a_quotation_cannot_inject_markup(staff: Client, alice: Member) -> None:
    run = running_run(alice)
    finish(run, 'It says "<script>alert(1)</script> and then <b>five</b> more words here"')

    html = staff.get(f"/ui/runs/{run.id}/").content.decode()

    assert marks(html) == {"cite-0": "not_found"}
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


def test_the_run_list_shows_a_badge_and_filters_unverified_runs(
    staff: Client, alice: Member, demo: Vault, checked: Run
) -> None:
    clean, silent = running_run(alice, vault_ids=[demo.id]), running_run(alice)
    finish(clean, f'"{VERBATIM}"')
    finish(silent, "Nothing quoted.")

    everything = staff.get("/ui/runs/").content.decode()
    unverified = staff.get("/ui/runs/?grounding=unverified")

    assert "1/1 verified" in everything and "1 not found · 1 altered" in everything
    assert [r.id for r in unverified.context["page"].object_list] == [checked.id]
    assert 'value="unverified" selected' in unverified.content.decode()
