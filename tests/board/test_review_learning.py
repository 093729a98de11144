"""A review decision records what it taught: the review page links the decision to the
learning form, prefilled, and the learning is kept with the decision — on a closed review too,
whose decisions themselves never change.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from registry.models import Learning, ReviewDecision
from registry.services import reviews
from tests.board.test_review_pages import browser, decide, page_url, q  # noqa: F401

pytestmark = pytest.mark.django_db


def test_a_decision_links_to_its_learning_form(q):  # noqa: F811
    pmo = browser(q.pmo)
    decide(pmo, q, q.idea, "stop", rationale="No owner for the offer engine.")
    decision = ReviewDecision.objects.get(review=q.review, initiative=q.idea)
    page = pmo.get(page_url(q) + f"?initiative={q.idea.key}").content.decode()
    link = (
        f"{reverse('admin:registry_learning_add')}?initiative={q.idea.pk}"
        f"&amp;review_decision={decision.pk}"
    )
    assert f'id="record-learning" href="{link}"' in page
    viewer_page = browser(q.viewer).get(page_url(q) + f"?initiative={q.idea.key}")
    assert 'id="record-learning"' not in viewer_page.content.decode()

    form = pmo.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    initial = form.context["adminform"].form.initial
    assert (str(initial["initiative"]), str(initial["review_decision"])) == (
        str(q.idea.pk),
        str(decision.pk),
    )
    for other in (q.pilot, q.secret):
        decide(pmo, q, other, "continue")
    reviews.review_close(review=q.review, actor=q.pmo)
    response = pmo.post(
        reverse("admin:registry_learning_add"),
        {
            "initiative": q.idea.pk,
            "review_decision": decision.pk,
            "outcome": "inconclusive",
            "recorded_on": "2026-12-01",
            "hypothesis": "An offer engine lifts renewals.",
            "effect": "",
            "lesson": "Without an owner nothing was measured; name one before the next pilot.",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    learning = Learning.objects.get(initiative=q.idea)
    assert (learning.review_decision, learning.recorded_by) == (decision, q.pmo)
