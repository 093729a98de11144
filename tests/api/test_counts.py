"""`count` is exact on every numbered list, filtered or not and above any limit, and says so
(`count_exact`); an estimate comes only when the client asks for one, labelled; the CSV holds
as many rows as the count says.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest

from registry.models import Initiative, Tag
from registry.selectors.counting import DEFAULT_EXACT_COUNT_LIMIT
from registry.services.learning import learning_record
from tests import factories
from tests.api.support import API, error_attrs, make_portfolio
from tests.test_query_baseline import LISTS

INITIATIVES = f"{API}initiatives/"
# The sync that showed the old estimate: a source's batch, most of it of minimal risk.
SYNCED = {"source": "servicenow", "risk_tier": "minimal"}
ARCHIVED = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)


@pytest.fixture
def portfolio(db):
    """The crafted portfolio and 1,500 synced initiatives: 1,150 of minimal risk (50 of them
    archived, 40 confidential), 350 of limited risk.
    """
    p = make_portfolio()
    owner = p.people["ivy"]
    factories.bulk_initiatives(1_060, owner=owner, **SYNCED)
    factories.bulk_initiatives(40, owner=owner, confidential=True, **SYNCED)
    factories.bulk_initiatives(50, owner=owner, archived_at=ARCHIVED, **SYNCED)
    factories.bulk_initiatives(350, owner=owner, source="servicenow", risk_tier="limited")
    return p


def _count(client, url: str, params: dict | None = None) -> dict:
    response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:300]
    return response.json()


def test_unfiltered_count_is_exact_above_a_thousand(portfolio):
    body = _count(portfolio.client("pmo"), INITIATIVES)
    live = Initiative.objects.live().count()
    assert live > DEFAULT_EXACT_COUNT_LIMIT
    assert (body["count"], body["count_exact"]) == (live, True)


def test_filtered_count_is_exact_above_a_thousand(portfolio):
    body = _count(portfolio.client("pmo"), INITIATIVES, SYNCED)
    assert (body["count"], body["count_exact"]) == (1_100, True)  # 1,150 less 50 archived


def test_count_leaves_out_what_the_reader_may_not_see(portfolio):
    body = _count(portfolio.client("viewer"), INITIATIVES, SYNCED)
    assert (body["count"], body["count_exact"]) == (1_060, True)  # not the 40 confidential


def test_pages_add_up_to_the_count(portfolio):
    client = portfolio.client("pmo")
    url = f"{INITIATIVES}?source=servicenow&page_size=500"
    first = _count(client, url)
    keys: list[str] = []
    while url:
        body = _count(client, url)
        assert body["count"] == first["count"]
        keys += [row["key"] for row in body["results"]]
        url = body["next"]
    assert len(keys) == len(set(keys)) == first["count"] == 1_450


def test_csv_holds_as_many_rows_as_the_count(portfolio):
    client = portfolio.client("pmo")
    counted = _count(client, INITIATIVES, SYNCED)["count"]
    response = client.get(INITIATIVES, {**SYNCED, "format": "csv"})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == counted == 1_100


def test_an_estimate_comes_only_on_request_and_labelled(portfolio):
    client = portfolio.client("pmo")
    estimated = _count(client, INITIATIVES, {**SYNCED, "count": "estimate"})
    assert estimated["count_exact"] is False
    assert estimated["count"] > DEFAULT_EXACT_COUNT_LIMIT  # never below the rows it saw
    exact = _count(client, INITIATIVES, {**SYNCED, "count": "exact"})
    assert (exact["count"], exact["count_exact"]) == (1_100, True)
    # A small result is counted exactly even when an estimate was asked for.
    small = _count(client, INITIATIVES, {"risk_tier": "limited", "count": "estimate"})
    assert small["count_exact"] is True
    assert small["count"] == Initiative.objects.live().filter(risk_tier="limited").count()


@pytest.mark.parametrize("value", ["approximate", "EXACT", "1"])
def test_an_unknown_count_mode_is_a_400_that_names_it(portfolio, value):
    response = portfolio.client("pmo").get(INITIATIVES, {"count": value})
    assert response.status_code == 400
    assert error_attrs(response) == ["count"]


NUMBERED = [path for path in LISTS if "updated_since" not in path and "csv" not in path]


@pytest.fixture
def crafted(db):
    p = make_portfolio()
    # The billing pilot's learning, so the learning library's lists have a row to count.
    learning_record(
        actor=p.users["pmo"],
        initiative=p.initiatives["chat"],
        data={"hypothesis": "H", "outcome": "refuted", "lesson": "Instant answers confuse."},
    )
    return p


@pytest.mark.parametrize("path", [p for p in NUMBERED if p != "changes/"])
def test_every_numbered_list_labels_its_count(crafted, path):
    body = _count(crafted.client("pmo"), f"{API}{path}", {"page_size": 500})
    assert body["count_exact"] is True
    assert body["count"] == len(body["results"]) > 0


def test_the_lists_of_an_initiative_and_of_a_review_label_their_count(crafted):
    client = crafted.client("pmo")
    review = crafted.initiatives["chat"].review_decisions.get().review
    for url in (
        f"{INITIATIVES}{crafted.key('chat')}/history/",
        f"{API}reviews/{review.pk}/initiatives/",
    ):
        body = _count(client, url, {"page_size": 500})
        assert body["count_exact"] is True, url
        assert body["count"] == len(body["results"]) > 0, url


def test_other_lists_count_exactly_above_a_thousand(portfolio):
    Tag.objects.bulk_create(Tag(name=f"synced-{n:04d}") for n in range(1_200))
    body = _count(portfolio.client("viewer"), f"{API}tags/")
    assert (body["count"], body["count_exact"]) == (Tag.objects.count(), True)
    assert body["count"] > 1_200


def test_the_change_feed_is_cursor_paged_and_counts_nothing(crafted):
    body = _count(crafted.client("pmo"), f"{API}changes/")
    assert "count" not in body
    assert "count_exact" not in body
