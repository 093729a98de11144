"""Regression guard: the SQL statements each read endpoint runs are pinned in
tests/query_baseline.json, for a page of 1 and a page of 100 alike.

A change that adds (or saves) a query fails here with the endpoints that moved. When the
change is on purpose, record the new counts and commit the file with it:

    UPDATE_QUERY_BASELINE=1 pytest tests/test_query_baseline.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from registry.models import Alignment, Initiative, Learning, Person
from tests import factories
from tests.api.support import API
from tests.api.test_queries import portfolio  # noqa: F401 (the fixture)

BASELINE = Path(__file__).with_name("query_baseline.json")
UPDATE = os.environ.get("UPDATE_QUERY_BASELINE") == "1"

LISTS = [
    "initiatives/",
    "initiatives/?stage=pilot",
    "initiatives/?goal=G-NPS",
    "initiatives/?alignment=none",
    "initiatives/?alignment=strong&stage=pilot",
    "initiatives/?q=chatbot",
    "initiatives/?updated_since=2000-01-01",
    "initiatives/?format=csv",
    "visions/",
    "goals/",
    "measurements/",
    "departments/",
    "people/",
    "systems/",
    "tags/",
    "alignments/",
    "team-roles/",
    "dependencies/",
    "notes/",
    "stage-changes/",
    "reviews/",
    "review-decisions/",
    "changes/",
    "learnings/",
    "learnings/?q=answers&outcome=refuted",
]
REPORTS = ["reports/portfolio/", "reports/alignment-matrix/", "reports/voice-review-gaps/"]


def _count(client: Client, url: str) -> int:
    client.get(url)  # warm up: session, content types, token's last use
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.content[:300])
    return len(context.captured_queries)


def _with_page_size(url: str, size: int) -> str:
    return f"{url}{'&' if '?' in url else '?'}page_size={size}"


def measure(p) -> tuple[dict[str, int], list[str]]:
    """Counts per endpoint, and the endpoints whose count depends on the page size."""
    counts: dict[str, int] = {}
    unstable: list[str] = []
    client = p.client("pmo")
    # Enough learnings to fill a page of 100 (the portfolio holds none of its own).
    Learning.objects.bulk_create(
        Learning(initiative=initiative, hypothesis="H", outcome="refuted", lesson="Answers.")
        for initiative in Initiative.objects.order_by("pk")[:120]
    )
    for path in LISTS:
        url = f"{API}{path}"
        one, hundred = (_count(client, _with_page_size(url, n)) for n in (1, 100))
        counts[f"GET {url}"] = hundred
        if one != hundred:
            unstable.append(f"GET {url}: page of 1 → {one}, page of 100 → {hundred}")
    linked = Initiative.objects.get(name="Linked 3")
    alignment = Alignment.objects.filter(initiative=linked).first()
    person = Person.objects.get(email="carol@example.com")
    details = {  # label (stable across databases) → path
        "initiatives/{key}/": f"initiatives/{linked.key}/",
        "initiatives/{key}/history/": f"initiatives/{linked.key}/history/",
        "goals/{code}/": "goals/G-NPS/",
        "alignments/{id}/": f"alignments/{alignment.pk}/",
        "people/{id}/": f"people/{person.pk}/",
        "systems/{slug}/": "systems/crm/",
        **{path: path for path in REPORTS},
    }
    for label, path in details.items():
        counts[f"GET {API}{label}"] = _count(client, f"{API}{path}")
    admin = Client()
    admin.force_login(factories.UserFactory(username="baseline-admin", is_staff=True,
                                            is_superuser=True))  # fmt: skip
    counts["GET /admin/registry/initiative/"] = _count(admin, "/admin/registry/initiative/")
    counts["GET /admin/registry/initiative/?stage=pilot"] = _count(
        admin, "/admin/registry/initiative/?stage=pilot"
    )
    return counts, unstable


def test_query_counts_match_the_baseline(portfolio):  # noqa: F811
    counts, unstable = measure(portfolio)
    assert not unstable, "Query counts must not grow with the page size:\n" + "\n".join(unstable)
    if UPDATE:
        BASELINE.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
        return
    baseline = json.loads(BASELINE.read_text())
    moved = [
        f"  {endpoint}: baseline {baseline.get(endpoint, 'missing')}, now {count}"
        for endpoint, count in sorted(counts.items())
        if baseline.get(endpoint) != count
    ]
    gone = [f"  {endpoint}: no longer measured" for endpoint in sorted(set(baseline) - set(counts))]
    changes = moved + gone
    assert not changes, (
        "SQL queries per request changed:\n"
        + "\n".join(changes)
        + "\nIf this is intended, record it: UPDATE_QUERY_BASELINE=1 "
        "pytest tests/test_query_baseline.py (and commit tests/query_baseline.json)."
    )
