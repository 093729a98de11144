"""Voice reviews and learnings in the admin: the PMO records a voice review in the initiative
page's inline (through the service), the pilot → scaling gate asks for it in the admin too,
the learning library's changelist searches and filters, runs a constant number of queries,
and hides confidential initiatives' learnings from everyone else.
"""

from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import choices, permissions
from registry.choices import Stage
from registry.models import Initiative, Learning, Vision, VoiceReview
from registry.services import learning as learning_service
from tests import factories
from tests.admin.test_admin import (
    add_inline_row,
    admin_url,
    form_data,
    login,
    messages_of,
    the_active_vision,
)


@pytest.fixture
def bot(db) -> Initiative:
    initiative = factories.InitiativeFactory(
        name="Billing chatbot",
        stage=Stage.PILOT,
        touchpoints=[choices.Touchpoint.CHAT],
        hypothesis="Customers prefer instant answers.",
        success_criteria="30% resolved without an agent.",
        learnings="Customers accept the bot.",
    )
    return initiative


def learning(initiative: Initiative, **fields) -> Learning:
    values = {
        "hypothesis": "Customers prefer instant answers to billing questions.",
        "outcome": choices.LearningOutcome.REFUTED,
        "effect": "12% resolved without an agent (target 30%).",
        "lesson": "Billing questions need account context first.",
        **fields,
    }
    return learning_service.learning_record(actor=None, initiative=initiative, data=values)


def test_the_pmo_records_a_voice_review_in_the_initiative_page(pmo_client, pmo_user, bot):
    url = admin_url(Initiative, "change", bot.pk)
    data = form_data(pmo_client.get(url))
    add_inline_row(
        data,
        "voice_reviews",
        outcome="passed",
        note="Discloses the AI in the first line.",
        reviewed_at_0="2026-11-03",
        reviewed_at_1="10:00:00",
    )
    response = pmo_client.post(url, data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    review = VoiceReview.objects.get(initiative=bot)
    assert (review.outcome, review.reviewer, review.reviewer_name) == ("passed", pmo_user, "pmo")


def test_the_admin_move_to_scaling_needs_a_passed_voice_review(pmo_client, bot):
    url = admin_url(Initiative, "transition", bot.pk)
    refused = pmo_client.post(url, {"to_stage": "scaling"}, follow=True)
    assert any("a passed voice review" in message for message in messages_of(refused)) or (
        "a passed voice review" in refused.content.decode()
    )
    bot.refresh_from_db()
    assert bot.stage == Stage.PILOT

    learning_service.voice_review_record(actor=None, initiative=bot, outcome="passed")
    moved = pmo_client.post(url, {"to_stage": "scaling"})
    assert moved.status_code == 302
    bot.refresh_from_db()
    assert bot.stage == Stage.SCALING


def test_a_contributor_owner_sees_no_voice_review_form(db, bot):
    carol = factories.UserFactory(username="carol", groups=[permissions.CONTRIBUTOR], is_staff=True)
    Initiative.objects.filter(pk=bot.pk).update(
        owner=factories.PersonFactory(user=carol, email="carol@example.com")
    )
    page = login(carol).get(admin_url(Initiative, "change", bot.pk))
    assert page.status_code == 200
    formsets = {inline.formset.prefix: inline for inline in page.context["inline_admin_formsets"]}
    assert not formsets["voice_reviews"].has_add_permission
    assert formsets["learning_records"].has_add_permission


def test_the_learning_library_searches_and_filters(pmo_client, bot):
    refuted = learning(bot, recorded_on=datetime.date(2026, 8, 3))
    confirmed = learning(
        bot,
        hypothesis="Proactive reminders cut late payments.",
        outcome="confirmed",
        lesson="Send the reminder three days ahead.",
        recorded_on=datetime.date(2026, 11, 3),
    )
    url = admin_url(Learning, "changelist")

    def shown(query: str) -> set[int]:
        response = pmo_client.get(url + query)
        assert response.status_code == 200
        return {row.pk for row in response.context["cl"].result_list}

    assert shown("") == {refuted.pk, confirmed.pk}
    assert shown("?q=reminders") == {confirmed.pk}
    assert shown(f"?q={bot.key}") == {refuted.pk, confirmed.pk}
    assert shown("?outcome__exact=refuted") == {refuted.pk}
    assert shown("?quarter=2026-Q3") == {refuted.pk}
    assert shown("?touchpoint=chat") == {refuted.pk, confirmed.pk}
    assert shown("?touchpoint=store") == set()
    assert shown("?quarter=2026-Q9") == set()


def test_confidential_learnings_are_hidden_from_the_viewer(db, viewer_user, bot):
    secret = factories.InitiativeFactory(
        name="Secret voicebot", stage=Stage.STOPPED, confidential=True
    )
    hidden = learning(secret, lesson="Secret lesson.")
    public = learning(bot)
    client = login(viewer_user)
    response = client.get(admin_url(Learning, "changelist"))
    assert {row.pk for row in response.context["cl"].result_list} == {public.pk}
    assert "Secret lesson" not in response.content.decode()
    assert client.get(admin_url(Learning, "change", hidden.pk)).status_code == 302


def test_the_learning_changelist_runs_a_constant_number_of_queries(pmo_client, bot):
    url = admin_url(Learning, "changelist")

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert pmo_client.get(url).status_code == 200
        return len(captured)

    learning(bot)
    few = cost()
    for n in range(8):
        learning(bot, lesson=f"Lesson {n}")
    assert cost() == few


def test_the_vision_page_edits_the_voice_principles(pmo_client):
    vision = the_active_vision()
    url = admin_url(Vision, "change", vision.pk)
    data = form_data(pmo_client.get(url))
    data["voice_ai_disclosure"] = "The greeting says a digital assistant answers."
    response = pmo_client.post(url, data)
    assert response.status_code == 302
    assert Vision.objects.get(pk=vision.pk).voice_ai_disclosure.startswith("The greeting")


def test_intake_shows_what_earlier_pilots_like_it_taught(pmo_client, bot):
    learning(bot, lesson="Billing questions need account context first.")
    learning(bot, outcome="confirmed", lesson="Show the invoice line the answer is about.")
    owner = factories.PersonFactory()
    data = form_data(pmo_client.get(admin_url(Initiative, "add")))
    data.update(
        name="App invoice bot",
        kind=choices.Kind.CHATBOT,
        summary="Answers billing questions about the invoice in the app chat.",
        owner=str(owner.pk),
        lead_department=str(owner.department_id),
        currency="EUR",
        touchpoints=["chat"],
    )
    response = pmo_client.post(admin_url(Initiative, "add"), data)
    assert response.status_code == 302
    told = next(m for m in messages_of(response) if m.startswith("Before you start"))
    assert "2 similar past learnings: 1 confirmed, 1 refuted, 0 inconclusive." in told
    assert f"{bot.key} · Refuted: Billing questions need account context first." in told
