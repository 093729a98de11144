"""The changelists' counts are exact — the filtered result and its "N total" — above any
limit, fetched together in one statement.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import Initiative, Tag
from tests import factories

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:registry_initiative_changelist")
ARCHIVED = datetime.datetime(2026, 3, 1, tzinfo=datetime.UTC)


@pytest.fixture
def synced():
    """1,500 initiatives of one source: 1,150 of minimal risk (50 archived, 40 confidential)
    and 350 of limited risk.
    """
    fields = {"source": "servicenow", "risk_tier": "minimal"}
    factories.bulk_initiatives(1_060, **fields)
    factories.bulk_initiatives(40, confidential=True, **fields)
    factories.bulk_initiatives(50, archived_at=ARCHIVED, **fields)
    factories.bulk_initiatives(350, source="servicenow", risk_tier="limited")


def _changelist(client, query: str = ""):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    cl = response.context["cl"]
    return cl, response.content.decode(), _counts(captured)


def _counts(captured) -> list[str]:
    return [q["sql"] for q in captured if q["sql"].startswith("SELECT (SELECT count(*)")]


def test_initiative_changelist_counts_exactly_with_its_total(pmo_client, synced):
    cl, page, counts = _changelist(pmo_client)
    assert cl.result_count == Initiative.objects.live().count() == 1_450
    assert cl.full_result_count == Initiative.objects.count() == 1_500  # archived included
    assert cl.show_full_result_count
    assert len(counts) == 1  # both figures from one statement
    assert "1450 results" in page.replace(",", "").replace("\u00a0", "")
    assert "1500 total" in page.replace(",", "").replace("\u00a0", "")


def test_filtered_initiative_changelist_counts_exactly(pmo_client, synced):
    cl, _page, counts = _changelist(pmo_client, "?risk_tier__exact=minimal")
    assert (cl.result_count, cl.full_result_count) == (1_100, 1_500)
    assert len(counts) == 1
    assert len(cl.result_list) == cl.list_per_page
    last = pmo_client.get(CHANGELIST + "?risk_tier__exact=minimal&p=22").context["cl"]
    assert len(last.result_list) == 1_100 - 21 * cl.list_per_page


def test_counts_leave_out_what_the_reader_may_not_see(viewer_user, synced):
    viewer = Client()
    viewer.force_login(viewer_user)
    cl, _page, _counts = _changelist(viewer, "?risk_tier__exact=minimal")
    assert (cl.result_count, cl.full_result_count) == (1_060, 1_460)  # no confidential


def test_other_changelists_count_once_when_nothing_filters(pmo_client):
    Tag.objects.bulk_create(Tag(name=f"synced-{n:04d}") for n in range(1_200))
    with CaptureQueriesContext(connection) as captured:
        response = pmo_client.get(reverse("admin:registry_tag_changelist"))
    cl = response.context["cl"]
    assert cl.result_count == cl.full_result_count == 1_200
    (count,) = _counts(captured)
    assert count.count("SELECT count(*)") == 1  # the same query is not counted twice
    searched = pmo_client.get(reverse("admin:registry_tag_changelist") + "?q=synced-00")
    assert (searched.context["cl"].result_count, searched.context["cl"].full_result_count) == (
        100,
        1_200,
    )
