"""The flags' set-based silo rule selects exactly what `with_silo_flag` flags."""

from __future__ import annotations

import pytest

from registry.selectors import flags
from tests import factories
from tests.api.support import make_portfolio

pytestmark = pytest.mark.django_db


def test_silo_initiatives_agree_with_the_silo_flag():
    p = make_portfolio()
    service, it, marketing = (p.departments[n] for n in ("service", "it", "marketing"))
    ivy, nobody = p.people["ivy"], factories.PersonFactory(department=None)
    make = factories.InitiativeFactory

    def with_parts(initiative, departments=(), people=()):
        initiative.departments.set(departments)
        for person in people:
            factories.TeamRoleFactory(initiative=initiative, person=person, role="responsible")
        return initiative

    cases = {
        "lead alone": with_parts(make(lead_department=service)),
        "lead and itself": with_parts(make(lead_department=service), [service]),
        "lead and another": with_parts(make(lead_department=service), [it]),
        "member of the lead": with_parts(make(lead_department=it), people=[ivy]),
        "member elsewhere": with_parts(make(lead_department=service), people=[ivy]),
        "member of none": with_parts(make(lead_department=service), people=[nobody]),
        "no lead, one": with_parts(make(lead_department=None), [marketing]),
        "no lead, two": with_parts(make(lead_department=None), [marketing, it]),
        "no lead, nothing": with_parts(make(lead_department=None)),
    }
    expected = {
        obj.key
        for obj in flags.reports.initiative_scope(user=p.users["pmo"], open_only=True)
        .with_silo_flag()
        .filter(is_silo=True)
    }
    found = set(
        flags.silo_initiatives(user=p.users["pmo"], period=None).values_list("key", flat=True)
    )
    assert found == expected
    silos = {name for name, obj in cases.items() if obj.key in found}
    assert silos == {
        "lead alone",
        "lead and itself",
        "member of the lead",
        "member of none",
        "no lead, one",
        "no lead, nothing",
    }
