"""Bounded counts (exact up to a limit, the planner's estimate beyond) never lose a row, and
the alignment filter's semi-joins select exactly what the alignment-level annotation does.
"""

from __future__ import annotations

import itertools

import pytest

from registry import choices
from registry.models import Initiative
from registry.selectors.counting import EstimatedCountPaginator, bounded_count
from tests import factories
from tests.api.support import API
from tests.api.test_queries import portfolio  # noqa: F401 (the fixture)


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
    url = f"{API}initiatives/?page_size=2"
    first = client.get(url).json()
    assert first["count"] >= 4  # estimated, but never below the limit it passed
    while url:
        body = client.get(url).json()
        seen += [item["key"] for item in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(wanted)
    assert len(seen) == len(set(seen))
    # A page past the end is a 404 as with exact counts.
    assert client.get(f"{API}initiatives/?page_size=2&page=999").status_code == 404


def test_small_results_stay_exact(portfolio):  # noqa: F811
    body = portfolio.client("pmo").get(f"{API}initiatives/?page_size=2").json()
    assert body["count"] == Initiative.objects.live().count()


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
