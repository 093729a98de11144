"""Precision and recall of overlap scoring on the labelled pairs (docs/OVERLAPS.md).

`overlap_pairs.csv` holds pairs from the demo portfolio and from the 2023 US federal AI
inventory, each labelled an overlap or not by reading both descriptions; the target is
precision ≥ 0.8 at recall ≥ 0.7.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from bench import overlap_quality
from registry import permissions
from registry.demo import DEFAULT_DEMO_PATH, load_demo_portfolio
from tests import factories
from tests.test_demo import ensure_demo_logins, fire_deferred_constraints


@pytest.fixture(scope="module")
def labelled_portfolio(django_db_setup, django_db_blocker):
    """The demo and the federal inventory, loaded once, rolled back afterwards."""
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo_portfolio(DEFAULT_DEMO_PATH)
        ensure_demo_logins()
        fire_deferred_constraints()
        overlap_quality.load_federal_inventory()
        overlap_quality.settle_indexes()
        yield
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_precision_and_recall_on_the_labelled_pairs(labelled_portfolio):
    pairs = overlap_quality.read_pairs()
    assert sum(row["overlap"] == "1" for row in pairs) >= 25
    assert sum(row["overlap"] == "0" for row in pairs) >= 25
    assert {row["set"] for row in pairs} == {"demo", "federal"}
    pmo = factories.UserFactory(groups=[permissions.PMO], is_staff=True)
    quality = overlap_quality.evaluate(pmo, pairs)
    report = overlap_quality.report(quality)
    assert quality.precision >= 0.8, report
    assert quality.recall >= 0.7, report
