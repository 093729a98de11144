"""Set-based UPDATE: every column type the sync writes, in one statement, only the rows given."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from registry.models import Alignment, Initiative
from registry.sync import bulk
from tests import factories

pytestmark = pytest.mark.django_db


def test_bulk_update_writes_each_row_its_own_values_in_one_statement():
    owner = factories.PersonFactory()
    department = factories.DepartmentFactory()
    first, second, untouched = (factories.InitiativeFactory() for _ in range(3))
    moment = timezone.now().replace(microsecond=123456)
    first.name, second.name = "Billing bot", "Claims assistant"
    first.touchpoints, second.touchpoints = ["chat", "web"], []
    first.budget_planned, second.budget_planned = Decimal("1234.50"), Decimal("0.05")
    first.target_date, second.target_date = datetime.date(2027, 3, 31), None
    first.confidential, second.confidential = True, False
    first.owner, second.owner = owner, None
    first.lead_department = second.lead_department = department
    first.updated_at = second.updated_at = moment
    untouched_name = untouched.name
    fields = [
        "name",
        "touchpoints",
        "budget_planned",
        "target_date",
        "confidential",
        "owner",
        "lead_department",
        "updated_at",
    ]

    with CaptureQueriesContext(connection) as queries:
        assert bulk.bulk_update([first, second], fields) == 2

    assert len(queries) == 1
    stored = Initiative.objects.in_bulk([first.id, second.id, untouched.id])
    assert stored[first.id].name == "Billing bot"
    assert stored[first.id].touchpoints == ["chat", "web"]
    assert stored[first.id].budget_planned == Decimal("1234.50")
    assert stored[first.id].target_date == datetime.date(2027, 3, 31)
    assert stored[first.id].confidential is True
    assert stored[first.id].owner_id == owner.id
    assert stored[first.id].updated_at == moment  # to the microsecond
    assert stored[second.id].name == "Claims assistant"
    assert stored[second.id].touchpoints == []
    assert stored[second.id].budget_planned == Decimal("0.05")
    assert stored[second.id].target_date is None
    assert stored[second.id].owner_id is None
    assert {stored[first.id].lead_department_id, stored[second.id].lead_department_id} == {
        department.id
    }
    assert stored[untouched.id].name == untouched_name


def test_bulk_update_keeps_text_verbatim():
    initiative = factories.InitiativeFactory()
    initiative.summary = 'Quotes " and \\ backslashes, ünïcödé, emoji 🤖 and a\nnewline.'
    bulk.bulk_update([initiative], ["summary"])
    assert Initiative.objects.get(pk=initiative.pk).summary == initiative.summary


def test_bulk_update_of_nothing_runs_no_query():
    with CaptureQueriesContext(connection) as queries:
        assert bulk.bulk_update([], ["name"]) == 0
        assert bulk.bulk_update([factories.InitiativeFactory.build()], []) == 0
    assert len(queries) == 0


def test_bulk_update_of_alignments():
    alignment = factories.AlignmentFactory(strength=1)
    alignment.strength, alignment.rationale = 3, "Drives the goal directly."
    bulk.bulk_update([alignment], ["strength", "rationale"])
    stored = Alignment.objects.get(pk=alignment.pk)
    assert (stored.strength, stored.rationale) == (3, "Drives the goal directly.")
