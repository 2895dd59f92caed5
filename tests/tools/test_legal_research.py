"""legal-research.search and legal-research.citations against CourtListener's v4 wire format
(courtlistener.com/help/api/rest/search and /citation-lookup)."""

from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from agentexec.tools import legal_research, registry
from agentexec.tools.registry import ToolContext, ToolError
from tests.conftest import Member

API = "https://www.courtlistener.com/api/rest/v4"
TOKEN = "cl-test-token-0123456789"

PARAGRAPH = (
    "The Court in Brown v. Board of Education, 347 U.S. 483 (1954), rejected separate but "
    "equal. See also Roe v. Wade, 410 U.S. 113 (1973). Id. at 153. The Ninth Circuit agreed in "
    "Smith v. Jones, 123 F.3d 456, 460 (9th Cir. 1997). Plaintiffs sue under 42 U.S.C. § 1983. "
    "Brown, 347 U.S. at 495."
)


def ctx() -> ToolContext:
    return ToolContext(organization_id="org_1", run_id="run_1")


@pytest.fixture
def token(settings) -> str:
    settings.COURTLISTENER_API_TOKEN = TOKEN
    settings.COURTLISTENER_BASE_URL = API
    return TOKEN


def search_hit(**overrides: Any) -> dict[str, Any]:
    hit = {
        "absolute_url": "/opinion/105221/brown-v-board-of-education/",
        "attorney": "",
        "caseName": "Brown v. Board of Education",
        "caseNameFull": "Brown v. Board of Education of Topeka",
        "citation": ["347 U.S. 483", "74 S. Ct. 686", "98 L. Ed. 873"],
        "citeCount": 2090,
        "cluster_id": 105221,
        "court": "Supreme Court of the United States",
        "court_citation_string": "SCOTUS",
        "court_id": "scotus",
        "dateArgued": None,
        "dateFiled": "1954-05-17",
        "docketNumber": "1",
        "docket_id": 1207498,
        "judge": "Warren",
        "meta": {"timestamp": "2024-06-22T10:26:35.320787Z", "score": {"bm25": 12.1}},
        "opinions": [
            {
                "author_id": 3045,
                "id": 105221,
                "snippet": "We conclude that in the field of public <mark>education</mark> the "
                "doctrine of &quot;separate but equal&quot; has no place.",
                "type": "lead-opinion",
            }
        ],
        "status": "Published",
    }
    return hit | overrides


def test_they_are_unavailable_without_a_token(settings) -> None:
    settings.COURTLISTENER_API_TOKEN = ""
    for name in ("legal-research.search", "legal-research.citations"):
        tool = registry.get(name)
        assert tool is not None
        assert tool.location == "host"
        assert tool.available is False
        assert "COURTLISTENER_API_TOKEN" in (tool.unavailable_reason() or "")
    assert "legal-research.search" not in [t.name for t in registry.effective_tools(None, None)]


def test_they_are_available_with_a_token(token: str) -> None:
    assert registry.get("legal-research.search").available  # type: ignore[union-attr]
    assert registry.get("legal-research.citations").available  # type: ignore[union-attr]


def test_search_returns_opinions(token: str, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.get(f"{API}/search/").respond(
        200,
        json={
            "count": 3,
            "next": None,
            "previous": None,
            "results": [
                search_hit(),
                search_hit(caseName="Second", absolute_url="/opinion/2/second/"),
                search_hit(caseName="Third", absolute_url="/opinion/3/third/"),
            ],
        },
    )

    result = legal_research.search(
        ctx(),
        {
            "query": '"separate but equal"',
            "court": "scotus, ca4",
            "dateFrom": "1950-01-01",
            "dateTo": "1960-12-31",
            "topK": 2,
        },
    )

    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert parse_qs(sent.url.query.decode()) == {
        "type": ["o"],
        "q": ['"separate but equal"'],
        "court": ["scotus ca4"],
        "filed_after": ["1950-01-01"],
        "filed_before": ["1960-12-31"],
    }
    assert result.is_error is False
    assert (result.service, result.endpoint, result.method, result.status_code) == (
        "courtlistener",
        "/search/",
        "GET",
        200,
    )
    assert result.content["count"] == 3
    assert len(result.content["results"]) == 2
    assert result.content["results"][0] == {
        "caseName": "Brown v. Board of Education",
        "court": "Supreme Court of the United States",
        "courtId": "scotus",
        "dateFiled": "1954-05-17",
        "citations": ["347 U.S. 483", "74 S. Ct. 686", "98 L. Ed. 873"],
        "snippet": 'We conclude that in the field of public education the doctrine of "separate '
        'but equal" has no place.',
        "url": "https://www.courtlistener.com/opinion/105221/brown-v-board-of-education/",
    }


def test_search_turns_a_jurisdiction_into_its_courts(
    token: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.get(f"{API}/search/").respond(200, json={"count": 0, "results": []})

    legal_research.search(ctx(), {"query": "anti-SLAPP", "jurisdiction": "California"})

    courts = parse_qs(route.calls.last.request.url.query.decode())["court"][0].split()
    assert {"cal", "calctapp"} <= set(courts)
    assert "ca9" not in courts


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "query is required"),
        ({"query": "  "}, "query is required"),
        ({"query": "x", "topK": 0}, "topK must be"),
        ({"query": "x", "topK": 21}, "topK must be"),
        ({"query": "x", "dateFrom": "last year"}, "dateFrom must be a date"),
        ({"query": "x", "dateFrom": "2020-01-02", "dateTo": "2020-01-01"}, "after dateTo"),
        ({"query": "x", "jurisdiction": "Atlantis"}, "unknown jurisdiction"),
    ],
)
def test_search_rejects_bad_input(token: str, payload: dict, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        legal_research.search(ctx(), payload)


def test_search_reports_a_courtlistener_failure(token: str, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{API}/search/").respond(401, json={"detail": "Invalid token."})

    result = legal_research.search(ctx(), {"query": "negligence"})

    assert result.is_error is True
    assert result.status_code == 401
    assert result.service == "courtlistener"
    assert result.content == "CourtListener answered HTTP 401: Invalid token."


def test_search_reports_an_unreachable_courtlistener(
    token: str, respx_mock: respx.MockRouter
) -> None:
    respx_mock.get(f"{API}/search/").mock(side_effect=httpx.ConnectError("refused"))

    result = legal_research.search(ctx(), {"query": "negligence"})

    assert result.is_error is True
    assert result.status_code is None
    assert "could not be reached" in result.content


def test_eyecite_finds_every_citation_form(settings) -> None:
    settings.COURTLISTENER_API_TOKEN = ""

    result = legal_research.citations(ctx(), {"text": PARAGRAPH})

    found = {c["normalized"]: c for c in result.content["citations"]}
    assert list(found) == [
        "347 U.S. 483",
        "410 U.S. 113",
        "Id.",
        "123 F.3d 456",
        "42 U.S.C. § 1983",
        "347 U.S. at 495",
    ]
    assert found["347 U.S. 483"]["type"] == "case"
    assert (found["347 U.S. 483"]["volume"], found["347 U.S. 483"]["page"]) == ("347", "483")
    assert found["123 F.3d 456"]["reporter"] == "F.3d"
    assert found["123 F.3d 456"]["pinCite"] == "460"
    assert found["Id."]["type"] == "id"
    assert found["Id."]["pinCite"] == "at 153"
    assert found["Id."]["refersTo"] == "410 U.S. 113"
    assert found["347 U.S. at 495"]["type"] == "shortCase"
    assert found["347 U.S. at 495"]["refersTo"] == "347 U.S. 483"
    assert found["42 U.S.C. § 1983"]["type"] == "law"
    assert (found["42 U.S.C. § 1983"]["title"], found["42 U.S.C. § 1983"]["section"]) == (
        "42",
        "1983",
    )
    start, end = found["410 U.S. 113"]["span"].values()
    assert PARAGRAPH[start:end] == "410 U.S. 113"
    # Without a token nothing is looked up, and the result says why.
    assert result.content["resolved"] is False
    assert "COURTLISTENER_API_TOKEN" in result.content["note"]
    assert result.content["summary"] == {"total": 6, "cases": 3, "found": 0, "notFound": 0}


def lookup_answer(citation: str, status: int, clusters: list[dict]) -> dict:
    return {
        "citation": citation,
        "normalized_citations": [citation],
        "start_index": 0,
        "end_index": len(citation),
        "status": status,
        "error_message": "" if status != 404 else "Citation not found.",
        "clusters": clusters,
    }


def cluster(case_name: str, date_filed: str, url: str, volume: int, page: str) -> dict:
    return {
        "id": 1,
        "absolute_url": url,
        "case_name": case_name,
        "date_filed": date_filed,
        "citations": [{"volume": volume, "reporter": "U.S.", "page": page, "type": 1}],
    }


def test_citations_reports_which_cases_courtlistener_knows(
    token: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{API}/citation-lookup/").respond(
        200,
        json=[
            lookup_answer(
                "347 U.S. 483",
                200,
                [
                    cluster(
                        "Brown v. Board of Education",
                        "1954-05-17",
                        "/opinion/105221/brown/",
                        347,
                        "483",
                    )
                ],
            ),
            lookup_answer(
                "410 U.S. 113",
                200,
                [cluster("Roe v. Wade", "1973-01-22", "/opinion/108713/roe-v-wade/", 410, "113")],
            ),
            lookup_answer("123 F.3d 456", 404, []),
        ],
    )

    result = legal_research.citations(ctx(), {"text": PARAGRAPH})

    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Token {TOKEN}"
    assert parse_qs(sent.content.decode())["text"] == ["347 U.S. 483\n410 U.S. 113\n123 F.3d 456"]
    found = {c["normalized"]: c for c in result.content["citations"]}
    assert found["347 U.S. 483"]["found"] is True
    assert found["347 U.S. 483"]["matches"] == [
        {
            "caseName": "Brown v. Board of Education",
            "dateFiled": "1954-05-17",
            "citations": ["347 U.S. 483"],
            "url": "https://www.courtlistener.com/opinion/105221/brown/",
        }
    ]
    assert found["123 F.3d 456"]["found"] is False
    assert found["123 F.3d 456"]["status"] == 404
    assert "found" not in found["42 U.S.C. § 1983"]
    assert result.content["resolved"] is True
    assert result.content["summary"] == {"total": 6, "cases": 3, "found": 2, "notFound": 1}
    assert (result.service, result.endpoint, result.method, result.status_code) == (
        "courtlistener",
        "/citation-lookup/",
        "POST",
        200,
    )


def test_citations_reports_a_throttled_lookup(token: str, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/citation-lookup/").respond(
        429, json={"detail": "Request was throttled. Expected available in 41 seconds."}
    )

    result = legal_research.citations(ctx(), {"text": PARAGRAPH})

    assert result.is_error is True
    assert result.status_code == 429
    assert "throttled" in result.content


def test_citations_skips_the_lookup_when_asked(token: str, respx_mock: respx.MockRouter) -> None:
    result = legal_research.citations(ctx(), {"text": PARAGRAPH, "resolve": False})

    assert respx_mock.calls.call_count == 0
    assert result.content["resolved"] is False


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "text is required"),
        ({"text": 5}, "text is required"),
        ({"text": "x" * 64_001}, "too long"),
        ({"text": "347 U.S. 483", "resolve": "yes"}, "resolve must be"),
    ],
)
def test_citations_rejects_bad_input(token: str, payload: dict, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        legal_research.citations(ctx(), payload)


def test_asking_for_them_without_a_token_is_a_400_naming_the_setting(
    alice: Member, settings
) -> None:
    settings.COURTLISTENER_API_TOKEN = ""

    response = alice.client.post(
        "/agent/v1/execute",
        {"prompt": "Find cases", "model": "local/echo", "enabledTools": ["legal-research.search"]},
        format="json",
    )

    assert response.status_code == 400
    assert "COURTLISTENER_API_TOKEN" in response.json()["error"]["message"]
    assert "enabledTools" in response.json()["error"]["fields"]
