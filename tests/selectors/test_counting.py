"""Counts: exact ones count what the page query selects, whatever it annotates or joins,
without the joins only the page needs; estimated ones (on request) never lose a row; the
alignment filter's semi-joins select exactly what the alignment-level annotation does.
"""

from __future__ import annotations

import itertools

import pytest
from django.db import connection
from django.db.models import Count, F
from django.test.utils import CaptureQueriesContext

from registry import choices
from registry.api.initiatives.views import initiative_rows
from registry.models import Initiative
from registry.selectors.counting import (
    EstimatedCountPaginator,
    ExactCountPaginator,
    bounded_count,
    exact_count,
    exact_counts,
)
from tests import factories
from tests.api.support import API
from tests.api.test_queries import portfolio  # noqa: F401 (the fixture)


def _count_sql(queryset) -> str:
    with CaptureQueriesContext(connection) as context:
        exact_count(queryset)
    (query,) = context.captured_queries
    return query["sql"]


def test_exact_count_leaves_out_what_only_the_page_reads(portfolio):  # noqa: F811
    rows = initiative_rows().filter(archived_at__isnull=True)
    sql = _count_sql(rows)
    # No derived value, no to-one join of the page's columns: the live-key index suffices.
    assert " JOIN " not in sql
    assert "rollup" not in sql
    assert exact_count(rows) == len(list(rows)) == Initiative.objects.live().count()


def test_exact_count_keeps_the_joins_the_filters_need(portfolio):  # noqa: F811
    owned = initiative_rows().filter(owner__email="carol@example.com")
    assert '"registry_person"' in _count_sql(owned)
    assert exact_count(owned) == len(list(owned)) > 0
    unaligned = initiative_rows().alignment_level_in(["none"])
    assert "rollup" in _count_sql(unaligned)
    assert exact_count(unaligned) == len(list(unaligned)) > 0


@pytest.mark.parametrize(
    "build",
    [
        # A to-many join without DISTINCT repeats initiatives: the page shows them twice, so
        # the count counts them twice.
        lambda: Initiative.objects.filter(tags__name__isnull=False).annotate(
            owner_email=F("owner__email")
        ),
        lambda: Initiative.objects.filter(tags__name__isnull=False).distinct(),
        lambda: Initiative.objects.annotate(n=Count("alignments")).filter(n__gte=1),
        lambda: Initiative.objects.select_related("owner", "lead_department").order_by("name"),
        lambda: Initiative.objects.filter(pk__in=[]),
        lambda: initiative_rows().filter(lead_department__slug="service"),
    ],
)
def test_exact_count_is_the_number_of_rows_the_page_query_returns(portfolio, build):  # noqa: F811
    queryset = build()
    assert exact_count(queryset) == len(list(queryset))


def test_exact_counts_answers_several_in_one_statement(portfolio):  # noqa: F811
    live = Initiative.objects.live()
    everything = Initiative.objects.all()
    with CaptureQueriesContext(connection) as context:
        counts = exact_counts([live, everything, Initiative.objects.live()])
    assert len(context.captured_queries) == 1
    assert counts == [live.count(), everything.count(), live.count()]
    assert counts[0] < counts[1]  # the crafted portfolio holds an archived initiative
    nothing = Initiative.objects.filter(pk__in=[])
    assert exact_counts([nothing, live]) == [0, live.count()]
    assert exact_counts([nothing]) == [0]
    assert exact_counts([]) == []


def test_exact_paginator_counts_above_any_limit(db, settings):
    settings.REGISTRY_EXACT_COUNT_LIMIT = 3
    factories.bulk_initiatives(7)
    paginator = ExactCountPaginator(Initiative.objects.order_by("key"), 3)
    assert (paginator.count, paginator.count_is_exact, paginator.num_pages) == (7, True, 3)


def test_counts_exactly_up_to_the_limit(db):
    factories.InitiativeFactory.create_batch(5)
    assert bounded_count(Initiative.objects.all(), 5) == (5, True)
    count, exact = bounded_count(Initiative.objects.all(), 4)
    assert not exact
    assert count >= 5  # at least what was seen: never fewer than the rows really there


def test_api_pages_past_an_estimated_count_without_losing_rows(portfolio, settings):  # noqa: F811
    settings.REGISTRY_EXACT_COUNT_LIMIT = 3
    client = portfolio.client("pmo")
    wanted = set(Initiative.objects.live().values_list("key", flat=True))
    assert len(wanted) > 6
    seen: list[str] = []
    url = f"{API}initiatives/?page_size=2&count=estimate"
    first = client.get(url).json()
    assert first["count"] >= 4  # estimated, but never below the limit it passed
    assert first["count_exact"] is False
    while url:
        body = client.get(url).json()
        seen += [item["key"] for item in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(wanted)
    assert len(seen) == len(set(seen))
    # A page past the end is a 404 as with exact counts.
    assert client.get(f"{API}initiatives/?page_size=2&page=999").status_code == 404


def test_small_results_stay_exact_when_an_estimate_is_asked_for(portfolio):  # noqa: F811
    body = portfolio.client("pmo").get(f"{API}initiatives/?page_size=2&count=estimate").json()
    assert body["count"] == Initiative.objects.live().count()
    assert body["count_exact"] is True


def test_paginator_of_a_plain_list_counts_it():
    paginator = EstimatedCountPaginator(list(range(7)), 3)
    assert paginator.count == 7
    assert paginator.page(3).object_list == [6]


LEVELS = [str(level) for level in choices.AlignmentLevel.values]


@pytest.mark.parametrize(
    "levels",
    [list(c) for n in range(1, 5) for c in itertools.combinations(LEVELS, n)],
)
def test_alignment_filter_matches_the_annotation(portfolio, levels):  # noqa: F811
    # The crafted portfolio holds a strong link to a retired vision's goal: it must not count.
    by_annotation = set(
        Initiative.objects.with_alignment_level()
        .filter(alignment_level__in=levels)
        .values_list("pk", flat=True)
    )
    by_semi_join = set(Initiative.objects.alignment_level_in(levels).values_list("pk", flat=True))
    assert by_semi_join == by_annotation
