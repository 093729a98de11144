"""Voice reviews and the learning library over the API: who records, the pilot → scaling gate
for customer-facing AI (API and sync), search and filters, similar learnings, the report,
and confidential initiatives' reviews and learnings staying invisible to everyone else.
"""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from registry import choices
from registry.models import Initiative, Learning, ReviewDecision, VoiceReview
from registry.services import learning as learning_service
from tests.api.support import API, error_attrs, error_codes, make_portfolio

LEARNINGS = f"{API}learnings/"


@pytest.fixture
def portfolio(db):
    p = make_portfolio()
    # The confidential voicebot is a pilot that speaks to customers on the phone.
    Initiative.objects.filter(pk=p.initiatives["secret"].pk).update(
        stage=choices.Stage.PILOT, touchpoints=[choices.Touchpoint.PHONE]
    )
    p.initiatives["secret"].refresh_from_db()
    return p


def voice_url(p, name: str) -> str:
    return f"{API}initiatives/{p.key(name)}/voice-reviews/"


def record(p, name: str, **fields) -> Learning:
    values = {
        "hypothesis": "Customers prefer instant answers to billing questions.",
        "outcome": choices.LearningOutcome.CONFIRMED,
        "effect": "34% of billing chats resolved without an agent (target 30%).",
        "lesson": "Instant answers work for billing; keep the hand-over visible.",
        **fields,
    }
    return learning_service.learning_record(
        actor=p.users["pmo"], initiative=p.initiatives[name], data=values
    )


# --- voice reviews --------------------------------------------------------------------------


def test_the_pmo_records_a_voice_review_and_everyone_reads_it(portfolio):
    response = portfolio.client("pmo").post(
        voice_url(portfolio, "chat"),
        {"outcome": "passed", "note": "Discloses the AI; hands over on request."},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["initiative"], body["outcome"], body["reviewer"]) == (
        portfolio.key("chat"),
        "passed",
        "api-pmo",
    )
    for role in ("viewer", "contributor", "integration"):
        listed = portfolio.client(role).get(voice_url(portfolio, "chat"))
        assert listed.status_code == 200
        assert [row["outcome"] for row in listed.json()["results"]] == ["passed"]


@pytest.mark.parametrize("role", ["contributor", "viewer", "integration", "teamie"])
def test_only_the_pmo_records_voice_reviews(portfolio, role):
    # carol (contributor) owns the chatbot, and still may not pass her own bot.
    response = portfolio.client(role).post(
        voice_url(portfolio, "chat"), {"outcome": "passed"}, format="json"
    )
    assert response.status_code == 403
    assert not VoiceReview.objects.exists()


def test_a_voice_review_needs_ai_that_speaks_to_customers(portfolio):
    response = portfolio.client("pmo").post(
        voice_url(portfolio, "triage"), {"outcome": "passed"}, format="json"
    )
    assert response.status_code == 400
    assert error_attrs(response) == ["initiative"]
    assert error_codes(response) == ["not_customer_facing"]
    bad = portfolio.client("pmo").post(
        voice_url(portfolio, "chat"), {"outcome": "great"}, format="json"
    )
    assert bad.status_code == 400
    assert error_attrs(bad) == ["outcome"]


def test_voice_reviews_of_a_confidential_initiative_do_not_exist_for_others(portfolio):
    learning_service.voice_review_record(
        actor=portfolio.users["pmo"], initiative=portfolio.initiatives["secret"], outcome="failed"
    )
    for role in ("viewer", "contributor", "integration"):
        assert portfolio.client(role).get(voice_url(portfolio, "secret")).status_code == 404
        assert portfolio.client(role).post(
            voice_url(portfolio, "secret"), {"outcome": "passed"}, format="json"
        ).status_code in (403, 404)
    # The team member sees it, as they see the initiative.
    team = portfolio.client("teamie").get(voice_url(portfolio, "secret"))
    assert [row["outcome"] for row in team.json()["results"]] == ["failed"]


# --- the pilot → scaling gate ---------------------------------------------------------------


def test_a_customer_facing_pilot_scales_only_after_a_passed_voice_review(portfolio):
    pmo = portfolio.client("pmo")
    chat = f"{API}initiatives/{portfolio.key('chat')}/"
    pmo.patch(chat, {"learnings": "Customers accept the bot."}, format="json")
    refused = pmo.post(chat + "transition/", {"to": "scaling"}, format="json")
    assert refused.status_code == 409
    error = refused.json()["errors"][0]
    assert (error["code"], error["missing"]) == ("gate_not_met", ["voice_review"])
    assert "a passed voice review" in error["detail"]

    pmo.post(voice_url(portfolio, "chat"), {"outcome": "passed"}, format="json")
    later = pmo.post(voice_url(portfolio, "chat"), {"outcome": "needs_changes"}, format="json")
    assert later.status_code == 201
    # The latest review counts: needing changes withdraws the earlier pass.
    assert pmo.post(chat + "transition/", {"to": "scaling"}, format="json").status_code == 409

    pmo.post(voice_url(portfolio, "chat"), {"outcome": "passed"}, format="json")
    moved = pmo.post(chat + "transition/", {"to": "scaling"}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"] == "scaling"


def test_the_gate_leaves_ai_that_does_not_speak_to_customers_alone(portfolio):
    pmo = portfolio.client("pmo")
    Initiative.objects.filter(pk=portfolio.initiatives["chat"].pk).update(
        touchpoints=[], customer_facing=False, learnings="Agents liked it."
    )
    chat = f"{API}initiatives/{portfolio.key('chat')}/"
    moved = pmo.post(chat + "transition/", {"to": "scaling"}, format="json")
    assert moved.status_code == 200, moved.content


def test_sync_moves_go_through_the_voice_review_gate(portfolio):
    Initiative.objects.filter(pk=portfolio.initiatives["chat"].pk).update(
        source="jira", external_id="J-9", learnings="Customers accept the bot."
    )
    jira = portfolio.client("integration")
    url = f"{API}initiatives/sync/jira/J-9/"
    refused = jira.put(url, {"stage": "scaling"}, format="json")
    assert refused.status_code == 409, refused.content
    error = refused.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("gate_not_met", "stage")
    assert "voice review" in error["detail"]
    assert Initiative.objects.get(external_id="J-9").stage == "pilot"

    learning_service.voice_review_record(
        actor=portfolio.users["pmo"], initiative=portfolio.initiatives["chat"], outcome="passed"
    )
    moved = jira.put(url, {"stage": "scaling"}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"] == "scaling"


# --- learnings ------------------------------------------------------------------------------


def test_the_owner_records_a_learning_of_their_pilot(portfolio):
    response = portfolio.client("contributor").post(
        LEARNINGS,
        {
            "initiative": portfolio.key("chat"),
            "hypothesis": "Customers prefer instant answers.",
            "outcome": "confirmed",
            "effect": "34% resolved without an agent (target 30%).",
            "lesson": "Keep the hand-over visible.",
            "recorded_on": "2026-09-30",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["initiative"]["key"], body["quarter"], body["recorded_by"], body["version"]) == (
        portfolio.key("chat"),
        "2026-Q3",
        "api-carol",
        1,
    )
    assert response["ETag"] == '"1"'


@pytest.mark.parametrize("role", ["viewer", "teamie"])
def test_readers_do_not_record_learnings(portfolio, role):
    response = portfolio.client(role).post(
        LEARNINGS,
        {
            "initiative": portfolio.key("chat"),
            "hypothesis": "H",
            "outcome": "refuted",
            "lesson": "L",
        },
        format="json",
    )
    assert response.status_code == 403
    assert not Learning.objects.exists()


def test_a_contributor_does_not_record_learnings_of_others_work(portfolio):
    Initiative.objects.filter(pk=portfolio.initiatives["legacy"].pk).update(stage="stopped")
    response = portfolio.client("contributor").post(
        LEARNINGS,
        {
            "initiative": portfolio.key("legacy"),
            "hypothesis": "H",
            "outcome": "refuted",
            "lesson": "L",
        },
        format="json",
    )
    assert response.status_code == 403


def test_bad_learnings_are_400s_naming_the_field(portfolio):
    pmo = portfolio.client("pmo")
    base = {"hypothesis": "H", "outcome": "refuted", "lesson": "L"}
    not_tried = pmo.post(LEARNINGS, {**base, "initiative": portfolio.key("nbo")}, format="json")
    assert (not_tried.status_code, error_attrs(not_tried)) == (400, ["initiative"])
    other_decision = ReviewDecision.objects.get(initiative=portfolio.initiatives["chat"])
    wrong = pmo.post(
        LEARNINGS,
        {**base, "initiative": portfolio.key("legacy"), "review_decision": other_decision.pk},
        format="json",
    )
    assert (wrong.status_code, error_attrs(wrong)) == (400, ["review_decision"])
    blank = pmo.post(
        LEARNINGS, {**base, "initiative": portfolio.key("chat"), "lesson": " "}, format="json"
    )
    assert (blank.status_code, error_attrs(blank)) == (400, ["lesson"])
    bad_outcome = pmo.post(
        LEARNINGS, {**base, "initiative": portfolio.key("chat"), "outcome": "maybe"}, format="json"
    )
    assert (bad_outcome.status_code, error_attrs(bad_outcome)) == (400, ["outcome"])
    assert not Learning.objects.exists()


def test_a_review_decision_can_record_a_learning_at_any_stage(portfolio):
    decision = ReviewDecision.objects.get(initiative=portfolio.initiatives["chat"])
    Initiative.objects.filter(pk=portfolio.initiatives["chat"].pk).update(stage="approved")
    response = portfolio.client("pmo").post(
        LEARNINGS,
        {
            "initiative": portfolio.key("chat"),
            "review_decision": decision.pk,
            "hypothesis": "H",
            "outcome": "inconclusive",
            "lesson": "Too early to tell.",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["review_decision"] == decision.pk


def test_a_learning_is_corrected_with_if_match_and_never_deleted(portfolio):
    learning = record(portfolio, "chat")
    pmo = portfolio.client("pmo")
    url = f"{LEARNINGS}{learning.pk}/"
    stale = pmo.patch(url, {"outcome": "refuted"}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    changed = pmo.patch(url, {"outcome": "refuted"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200, changed.content
    assert (changed.json()["outcome"], changed.json()["version"]) == ("refuted", 2)
    moved = pmo.patch(url, {"initiative": portfolio.key("legacy")}, format="json")
    assert (moved.status_code, error_attrs(moved)) == (400, ["initiative"])
    assert pmo.delete(url).status_code == 405
    assert portfolio.client("viewer").patch(url, {"outcome": "confirmed"}).status_code == 403
    assert Learning.objects.get().outcome == "refuted"


def test_search_and_filters(portfolio):
    billing = record(portfolio, "chat", recorded_on=datetime.date(2026, 9, 1))
    Initiative.objects.filter(pk=portfolio.initiatives["triage"].pk).update(stage="stopped")
    routing = record(
        portfolio,
        "triage",
        hypothesis="Automatic routing of e-mails halves the waiting time.",
        outcome="refuted",
        effect="Waiting time fell by 5%.",
        lesson="Routing rules drift; retrain monthly.",
        recorded_on=datetime.date(2026, 11, 2),
    )
    viewer = portfolio.client("viewer")

    def ids(query: str) -> list[int]:
        response = viewer.get(LEARNINGS + query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [routing.pk, billing.pk]
    assert ids("?q=waiting") == [routing.pk]
    assert ids("?q=billing answers") == [billing.pk]
    assert ids("?kind=chatbot") == [billing.pk]
    assert ids("?touchpoint=email") == [routing.pk]
    assert ids("?outcome=refuted") == [routing.pk]
    assert ids("?quarter=2026-Q3") == [billing.pk]
    assert ids("?goal=G-NPS") == [billing.pk]
    assert ids(f"?initiative={portfolio.key('triage')}") == [routing.pk]
    for bad, field in (("?quarter=2026-Q5", "quarter"), ("?outcome=maybe", "outcome")):
        response = viewer.get(LEARNINGS + bad)
        assert (response.status_code, error_attrs(response)) == (400, [field])


def learning_events(client, learning: Learning) -> list[dict]:
    feed = client.get(f"{API}changes/?page_size=500").json()["results"]
    return [
        e for e in feed if e["object_type"] == "learning" and e["object_id"] == str(learning.pk)
    ]


def test_learnings_of_a_confidential_initiative_are_invisible_to_others(portfolio):
    secret = record(portfolio, "secret", hypothesis="Voice answers cut waiting on the phone.")
    public = record(portfolio, "chat")
    for role in ("viewer", "contributor", "integration"):
        client = portfolio.client(role)
        assert [r["id"] for r in client.get(LEARNINGS).json()["results"]] == [public.pk]
        assert client.get(LEARNINGS + "?q=voice").json()["count"] == 0
        assert client.get(f"{LEARNINGS}{secret.pk}/").status_code == 404
        similar = client.get(LEARNINGS + "similar/?text=voice answers waiting phone&kind=voicebot")
        assert similar.json()["count"] == 0
        assert not learning_events(client, secret)
    pmo = portfolio.client("pmo")
    assert [e["label"] for e in learning_events(pmo, secret)] == ["insert"]
    assert {r["id"] for r in pmo.get(LEARNINGS).json()["results"]} == {secret.pk, public.pk}
    team = portfolio.client("teamie")
    assert {r["id"] for r in team.get(LEARNINGS).json()["results"]} == {secret.pk, public.pk}


def test_similar_learnings_tell_what_earlier_pilots_taught(portfolio):
    Initiative.objects.filter(pk=portfolio.initiatives["legacy"].pk).update(
        stage="stopped", kind="chatbot", touchpoints=["chat"]
    )
    record(portfolio, "legacy", outcome="refuted", lesson="Billing bots frustrate customers.")
    record(portfolio, "legacy", outcome="refuted", lesson="Answers were too slow.")
    record(portfolio, "legacy", outcome="confirmed", lesson="Instant answers work.")
    viewer = portfolio.client("viewer")
    response = viewer.get(LEARNINGS + f"similar/?initiative={portfolio.key('chat')}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["count"], body["refuted"], body["confirmed"]) == (3, 2, 1)
    assert body["summary"] == "3 similar past learnings: 1 confirmed, 2 refuted, 0 inconclusive."
    german = viewer.get(
        LEARNINGS + f"similar/?initiative={portfolio.key('chat')}", HTTP_ACCEPT_LANGUAGE="de"
    )
    assert "3 ähnliche" in german.json()["summary"]
    idea = viewer.get(LEARNINGS + "similar/?text=A bot for billing questions&touchpoint=chat")
    assert idea.json()["count"] == 3
    missing = viewer.get(LEARNINGS + "similar/")
    assert (missing.status_code, error_attrs(missing)) == (400, ["initiative"])


# --- the report -----------------------------------------------------------------------------


def test_voice_review_gaps_report_json_and_csv(portfolio):
    url = f"{API}reports/voice-review-gaps/"
    viewer = portfolio.client("viewer").get(url)
    assert viewer.status_code == 200, viewer.content
    assert [row["key"] for row in viewer.json()["results"]] == [portfolio.key("chat")]
    assert viewer.json()["results"][0]["latest_voice_outcome"] is None
    pmo_keys = [row["key"] for row in portfolio.client("pmo").get(url).json()["results"]]
    assert sorted(pmo_keys) == portfolio.keys("chat", "secret")

    learning_service.voice_review_record(
        actor=portfolio.users["pmo"], initiative=portfolio.initiatives["chat"], outcome="passed"
    )
    assert portfolio.client("viewer").get(url).json()["count"] == 0
    learning_service.voice_review_record(
        actor=portfolio.users["pmo"], initiative=portfolio.initiatives["chat"], outcome="failed"
    )
    response = portfolio.client("viewer").get(url + "?format=csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [(r["key"], r["latest_voice_outcome"], r["touchpoints"]) for r in rows] == [
        (portfolio.key("chat"), "failed", "chat; web")
    ]


# --- query counts ---------------------------------------------------------------------------


def test_the_learnings_list_costs_the_same_for_1_and_50(portfolio):
    for n in range(60):
        record(portfolio, "chat", lesson=f"Lesson {n}")
    client = portfolio.client("viewer")

    def cost(size: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"{LEARNINGS}?page_size={size}&q=instant")
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        return len(queries)

    assert cost(1) == cost(50)


def test_the_initiatives_history_and_the_change_feed_record_both(portfolio):
    pmo = portfolio.client("pmo")
    pmo.post(voice_url(portfolio, "chat"), {"outcome": "failed", "note": "Jargon."}, format="json")
    created = pmo.post(
        LEARNINGS,
        {
            "initiative": portfolio.key("chat"),
            "hypothesis": "H",
            "outcome": "refuted",
            "lesson": "L",
        },
        format="json",
    ).json()
    pmo.patch(
        f"{LEARNINGS}{created['id']}/", {"lesson": "Better L"}, format="json", HTTP_IF_MATCH='"1"'
    )
    history = (
        portfolio.client("viewer")
        .get(f"{API}initiatives/{portfolio.key('chat')}/history/")
        .json()["results"]
    )
    seen = [(e["object_type"], e["label"], e["actor"], e["channel"]) for e in history]
    assert ("voicereview", "insert", "api-pmo", "api") in seen
    assert ("learning", "insert", "api-pmo", "api") in seen
    update = next(e for e in history if (e["object_type"], e["label"]) == ("learning", "update"))
    assert update["diff"]["lesson"] == ["L", "Better L"]
    feed = portfolio.client("viewer").get(f"{API}changes/?page_size=500").json()["results"]
    assert {"voicereview", "learning"} <= {e["object_type"] for e in feed}


def test_the_vision_holds_the_voice_principles(portfolio):
    url = f"{API}visions/{portfolio.vision.pk}/"
    principles = {
        "voice_tone": "Warm, calm, concrete.",
        "voice_language": "German first; formal Sie; no tariff jargon.",
        "voice_ai_disclosure": "The greeting says a digital assistant answers.",
        "voice_handover": "A person on request, with the conversation so far.",
    }
    refused = portfolio.client("contributor").patch(url, principles, format="json")
    assert refused.status_code == 403
    changed = portfolio.client("pmo").patch(url, principles, format="json")
    assert changed.status_code == 200, changed.content
    read = portfolio.client("viewer").get(url).json()
    assert {name: read[name] for name in principles} == principles


def test_an_integration_records_learnings_of_its_own_sources_work_only(portfolio):
    Initiative.objects.filter(pk=portfolio.initiatives["triage"].pk).update(stage="stopped")
    jira = portfolio.client("integration")
    body = {"hypothesis": "H", "outcome": "refuted", "lesson": "L"}
    own = jira.post(LEARNINGS, {**body, "initiative": portfolio.key("triage")}, format="json")
    assert own.status_code == 201, own.content
    assert own.json()["recorded_by"] == "api-jira"
    other = jira.post(LEARNINGS, {**body, "initiative": portfolio.key("chat")}, format="json")
    assert other.status_code == 403
    hidden = jira.post(LEARNINGS, {**body, "initiative": portfolio.key("secret")}, format="json")
    assert (hidden.status_code, error_attrs(hidden)) == (400, ["initiative"])


def test_the_gate_refusal_speaks_german(portfolio):
    pmo = portfolio.client("pmo")
    chat = f"{API}initiatives/{portfolio.key('chat')}/"
    pmo.patch(chat, {"learnings": "Customers accept the bot."}, format="json")
    refused = pmo.post(
        chat + "transition/", {"to": "scaling"}, format="json", HTTP_ACCEPT_LANGUAGE="de"
    )
    assert refused.status_code == 409
    assert "eine bestandene Stimmprüfung" in refused.json()["errors"][0]["detail"]
    not_facing = pmo.post(
        voice_url(portfolio, "triage"),
        {"outcome": "passed"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="de",
    )
    assert "spricht nicht mit Kundinnen und Kunden" in not_facing.json()["errors"][0]["detail"]


def test_the_answer_to_a_new_initiative_tells_similar_learnings(portfolio):
    Initiative.objects.filter(pk=portfolio.initiatives["legacy"].pk).update(
        stage="stopped", kind="chatbot", touchpoints=["chat"]
    )
    record(portfolio, "legacy", outcome="refuted", lesson="Billing bots need the account first.")
    record(portfolio, "secret", outcome="refuted", lesson="Secret lesson about billing bots.")
    idea = {
        "name": "Invoice bot in the app",
        "kind": "chatbot",
        "summary": "Answers billing questions about the invoice in the app chat.",
        "touchpoints": ["chat"],
    }
    response = portfolio.client("contributor").post(f"{API}initiatives/", idea, format="json")
    assert response.status_code == 201, response.content
    similar = response.json()["similar_learnings"]
    assert (similar["count"], similar["refuted"]) == (1, 1)
    assert [row["lesson"] for row in similar["results"]] == ["Billing bots need the account first."]


@pytest.mark.parametrize(
    "text", ["nul \x00 byte", "a" * 20000, '"unclosed or -', "<script>x</script>", "  "]
)
def test_hostile_text_never_breaks_search_or_similar(portfolio, text):
    viewer = portfolio.client("viewer")
    assert viewer.get(LEARNINGS, {"q": text}).status_code in (200, 400)
    similar = viewer.get(LEARNINGS + "similar/", {"text": text, "kind": "chatbot"})
    assert similar.status_code in (200, 400)
    written = portfolio.client("pmo").post(
        LEARNINGS,
        {
            "initiative": portfolio.key("chat"),
            "hypothesis": text,
            "outcome": "refuted",
            "lesson": text,
        },
        format="json",
    )
    assert written.status_code in (201, 400), written.content[:300]
