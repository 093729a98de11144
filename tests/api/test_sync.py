"""The sync endpoints over HTTP: upsert by external id, batches, permissions, history, overlaps."""

from __future__ import annotations

import threading
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pghistory.models import Events

from registry.choices import Kind, Stage
from registry.metrics import SYNC_ITEMS
from registry.models import Initiative, Person, StageChange
from registry.selectors import reports
from registry.sync import upsert
from tests import factories
from tests.api.support import API, error_attrs, error_codes, make_portfolio

BATCH = f"{API}initiatives/sync/"


def one_url(source: str, external_id: str) -> str:
    return f"{API}initiatives/sync/{source}/{quote(external_id, safe='/')}/"


def body(**fields):
    return {
        "name": "Claims chatbot",
        "kind": "chatbot",
        "summary": "Answers claim questions.",
        "owner": "mark@example.com",
        "lead_department": "marketing",
        "departments": ["it"],
        "systems": ["crm"],
        "tags": ["gdpr"],
        "touchpoints": ["chat"],
        "journey_stages": ["support"],
        **fields,
    }


@pytest.fixture
def portfolio(db):
    return make_portfolio()


@pytest.fixture
def jira(portfolio):
    return portfolio.client("integration")


@pytest.fixture
def pmo(portfolio):
    return portfolio.client("pmo")


def events_of(key: str) -> int:
    return Events.objects.references(Initiative.objects.get(key=key)).count()


def test_put_creates_then_the_same_body_is_unchanged(jira):
    created = jira.put(one_url("jira", "J-100"), body(), format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["result"] == "created"
    assert data["key"].startswith("AI-")
    assert data["version"] == 1
    assert data["stage"] == "idea"
    assert created["Location"] == data["url"]
    assert created["ETag"] == '"1"'
    initiative = Initiative.objects.get(key=data["key"])
    assert (initiative.source, initiative.external_id) == ("jira", "J-100")
    assert initiative.owner.email == "mark@example.com"
    assert sorted(initiative.tags.values_list("name", flat=True)) == ["gdpr"]
    history = events_of(data["key"])

    again = jira.put(one_url("jira", "J-100"), body(), format="json")
    assert again.status_code == 200
    assert again.json()["result"] == "unchanged"
    assert again.json()["version"] == 1
    assert again.json()["overlaps"] == []
    assert events_of(data["key"]) == history
    initiative.refresh_from_db()
    assert initiative.version == 1


def test_omitted_fields_stay_as_they_are(jira):
    key = jira.put(one_url("jira", "J-101"), body(), format="json").json()["key"]
    updated = jira.put(one_url("jira", "J-101"), {"name": "Renamed bot"}, format="json")
    assert updated.status_code == 200
    assert (updated.json()["result"], updated.json()["version"]) == ("updated", 2)
    initiative = Initiative.objects.get(key=key)
    assert initiative.name == "Renamed bot"
    assert initiative.summary == "Answers claim questions."
    assert initiative.owner.email == "mark@example.com"
    assert list(initiative.systems.values_list("slug", flat=True)) == ["crm"]
    assert initiative.touchpoints == ["chat"]


@pytest.mark.parametrize(
    "external_id",
    ["PROJ/12/sub-task", "a b+c?d#e&f=%20", "ümlaut/✓/…", "trailing/", "x" * 200],
)
def test_external_ids_with_slashes_and_odd_characters_round_trip(jira, external_id):
    created = jira.put(one_url("jira", external_id), body(), format="json")
    assert created.status_code == 201, created.content
    assert created.json()["external_id"] == external_id
    assert Initiative.objects.get(key=created.json()["key"]).external_id == external_id
    listed = jira.get(f"{API}initiatives/", {"source": "jira", "external_id": external_id})
    assert [row["key"] for row in listed.json()["results"]] == [created.json()["key"]]
    again = jira.put(one_url("jira", external_id), body(), format="json")
    assert again.json()["result"] == "unchanged"


def test_sync_is_not_taken_for_an_initiative_key(pmo):
    assert pmo.get(f"{API}initiatives/sync/").status_code == 405
    assert pmo.post(BATCH, {"source": "jira", "items": []}, format="json").status_code == 200


def test_unknown_natural_keys_are_a_400_naming_each_value(jira):
    response = jira.put(
        one_url("jira", "J-102"),
        body(
            owner="ghost@example.com",
            departments=["it", "nowhere"],
            systems=["crm", "mainframe"],
            tags=["no-such-tag"],
            alignments=[{"goal": "G-NOPE"}],
        ),
        format="json",
    )
    assert response.status_code == 400
    details = {e["attr"]: e["detail"] for e in response.json()["errors"]}
    assert "ghost@example.com" in details["owner"]
    assert "nowhere" in details["departments"]
    assert "mainframe" in details["systems"]
    assert "no-such-tag" in details["tags"]
    assert "G-NOPE" in details["alignments.0.goal"]
    assert not Initiative.objects.filter(external_id="J-102").exists()
    assert not Person.objects.filter(email="ghost@example.com").exists()


def test_a_person_with_name_and_email_is_created(jira):
    response = jira.put(
        one_url("jira", "J-103"),
        body(owner={"email": "New.Owner@Example.com", "name": "New Owner"}),
        format="json",
    )
    assert response.status_code == 201
    assert Person.objects.get(email="new.owner@example.com").name == "New Owner"


def test_stage_on_update_goes_through_the_gates_409(jira):
    key = jira.put(one_url("jira", "J-104"), body(), format="json").json()["key"]
    refused = jira.put(one_url("jira", "J-104"), {"stage": "approved"}, format="json")
    assert refused.status_code == 409
    error = refused.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("gate_not_met", "stage")
    assert "primary alignment" in error["detail"]
    initiative = Initiative.objects.get(key=key)
    assert (initiative.stage, initiative.version) == (Stage.IDEA, 1)

    moved = jira.put(
        one_url("jira", "J-104"),
        {"stage": "approved", "alignments": [{"goal": "G-NPS", "strength": "strong"}]},
        format="json",
    )
    assert moved.status_code == 200, moved.content
    assert moved.json()["stage"] == "approved"
    moves = StageChange.objects.filter(initiative__key=key).order_by("id")
    assert [(m.from_stage, m.to_stage) for m in moves][1:] == [
        ("idea", "proposed"),
        ("proposed", "approved"),
    ]
    assert {m.actor_name for m in moves} == {"jira-sync"}


def test_an_archived_external_id_is_a_409(jira, portfolio):
    Initiative.objects.filter(external_id="J-1").update(archived_at="2026-01-01T00:00:00Z")
    response = jira.put(one_url("jira", "J-1"), {"name": "Back?"}, format="json")
    assert response.status_code == 409
    assert error_codes(response) == ["archived"]


def test_create_at_its_stage_elsewhere_is_recorded_and_shows_gate_gaps(jira):
    response = jira.put(one_url("jira", "J-105"), body(stage="production"), format="json")
    assert response.status_code == 201
    data = response.json()
    assert data["stage"] == "production"
    assert set(data["gate_gaps"]) >= {"primary_alignment", "hypothesis", "learnings"}
    change = StageChange.objects.get(initiative__key=data["key"])
    assert (change.from_stage, change.to_stage, change.imported_from) == ("", "production", "jira")
    detail = jira.get(f"{API}initiatives/{data['key']}/").json()
    assert detail["gate_gaps"] == data["gate_gaps"]


def test_every_answer_reports_the_initiative_s_current_gate_gaps(jira):
    """Created, updated or left unchanged, by PUT or in a batch: the same truth each time."""
    bare = {"name": "Pilot bot", "kind": "chatbot", "stage": "pilot"}
    all_five = ["owner", "summary", "primary_alignment", "hypothesis", "success_criteria"]
    created = jira.put(one_url("jira", "CX-101"), bare, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["gate_gaps"] == all_five
    again = jira.put(one_url("jira", "CX-101"), bare, format="json")
    assert again.status_code == 200
    assert (again.json()["result"], again.json()["gate_gaps"]) == ("unchanged", all_five)
    key = created.json()["key"]
    assert jira.get(f"{API}initiatives/{key}/").json()["gate_gaps"] == all_five

    closed = {"external_id": "CX-101", "hypothesis": "Pilots learn.", "summary": "A bot."}
    rest = ["owner", "primary_alignment", "success_criteria"]
    updated = jira.put(one_url("jira", "CX-101"), closed, format="json").json()
    assert (updated["result"], updated["gate_gaps"]) == ("updated", rest)
    for sent in (closed, {"external_id": "CX-101"}):
        batch = jira.post(BATCH, {"source": "jira", "items": [sent]}, format="json").json()
        assert [(i["result"], i["gate_gaps"]) for i in batch["items"]] == [("unchanged", rest)]
    assert jira.get(f"{API}initiatives/{key}/").json()["gate_gaps"] == rest


def test_a_dry_run_reports_an_unchanged_item_s_gate_gaps(portfolio):
    bare = {"external_id": "CX-102", "name": "Pilot bot", "kind": "chatbot", "stage": "pilot"}
    upsert.sync_batch(source="jira", items=[bare])
    preview = upsert.sync_batch(source="jira", items=[bare], dry_run=True)
    assert preview.items[0].result == "unchanged"
    assert preview.items[0].gate_gaps == [
        "owner",
        "summary",
        "primary_alignment",
        "hypothesis",
        "success_criteria",
    ]


def test_body_external_id_must_match_the_url(jira):
    response = jira.put(one_url("jira", "J-106"), body(external_id="J-999"), format="json")
    assert response.status_code == 400
    assert error_codes(response) == ["external_id_mismatch"]


def test_a_body_that_is_not_an_object_is_a_400(jira):
    response = jira.put(one_url("jira", "J-107"), ["not", "an", "object"], format="json")
    assert response.status_code == 400


def test_a_body_that_is_no_json_is_a_400_parse_error(jira):
    for url, method in ((BATCH, "POST"), (one_url("jira", "J-109"), "PUT")):
        response = jira.generic(method, url, "{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["type"] == "client_error"
        assert error_codes(response) == ["parse_error"]


def test_form_and_multipart_bodies_are_refused_with_415(jira):
    # A form repeats no field, but DRF read a multipart field as a list ("['chatbot']"):
    # the sync endpoints, like the whole API, take JSON only.
    url = one_url("jira", "J-108")
    multipart = jira.put(url, {"name": "Bot", "kind": "chatbot"}, format="multipart")
    form = jira.generic(
        "PUT", url, "name=Bot&kind=chatbot", content_type="application/x-www-form-urlencoded"
    )
    batch = jira.post(BATCH, {"source": "jira", "items": "[]"}, format="multipart")
    for response in (multipart, form, batch):
        assert response.status_code == 415
        assert error_codes(response) == ["unsupported_media_type"]
    assert not Initiative.objects.filter(source="jira", external_id="J-108").exists()


@pytest.mark.parametrize(
    ("role", "source", "expected"),
    [
        ("pmo", "servicenow", 201),
        ("integration", "jira", 201),
        ("integration", "servicenow", 403),
        ("contributor", "jira", 403),
        ("viewer", "jira", 403),
        ("norole", "jira", 403),
        ("anonymous", "jira", 401),
    ],
)
def test_who_may_sync(portfolio, role, source, expected):
    client = portfolio.client(role)
    single = client.put(one_url(source, "P-1"), body(), format="json")
    assert single.status_code == expected, single.content
    batch = client.post(
        BATCH, {"source": source, "items": [{**body(), "external_id": "P-2"}]}, format="json"
    )
    assert batch.status_code == (200 if expected == 201 else expected)
    written = Initiative.objects.filter(source=source, external_id__in=["P-1", "P-2"]).count()
    assert written == (2 if expected == 201 else 0)


def test_history_names_the_token_and_the_sync_channel(jira):
    key = jira.put(one_url("jira", "J-108"), body(), format="json").json()["key"]
    jira.put(one_url("jira", "J-108"), {"summary": "Changed by Jira."}, format="json")
    events = Events.objects.references(Initiative.objects.get(key=key)).filter(
        pgh_obj_model="registry.Initiative"
    )
    contexts = {(e.pgh_label, e.pgh_context["actor"], e.pgh_context["channel"]) for e in events}
    assert contexts == {("insert", "jira-sync", "sync"), ("update", "jira-sync", "sync")}
    update = events.get(pgh_label="update")
    assert update.pgh_diff["summary"] == ["Answers claim questions.", "Changed by Jira."]
    feed = jira.get(f"{API}changes/", {"actor": "jira-sync", "channel": "sync"}).json()
    assert {row["object_type"] for row in feed["results"]} >= {"initiative"}


def test_created_and_updated_items_carry_join_or_justify(pmo, portfolio):
    # Service's billing chatbot; a billing chatbot of marketing overlaps it.
    billing = {"name": "Billing chatbot for marketing", "summary": "Answers billing questions."}
    response = pmo.put(one_url("jira", "J-109"), body(**billing), format="json")
    assert response.status_code == 201
    overlaps = response.json()["overlaps"]
    assert [o["key"] for o in overlaps] == [portfolio.key("chat")]
    assert overlaps[0]["reasons"][0]["rule"] in {"similar_name", "name_terms"}
    assert response.json()["overlaps_count"] == 1
    alone = pmo.put(one_url("jira", "J-110"), body(name="Fleet telematics"), format="json")
    assert alone.json()["overlaps"] == []


# --- batches ----------------------------------------------------------------------------------


BILLING_BOT = {"summary": "Answers billing questions in the chat."}


def items(*ids: str, **fields):
    """Marketing's billing chatbots: each overlaps service's billing chatbot."""
    fields = {**BILLING_BOT, **fields}
    return [{**body(name=f"Billing chatbot {i}", **fields), "external_id": i} for i in ids]


def test_batch_answers_item_by_item(jira):
    jira.post(BATCH, {"source": "jira", "items": items("B-1", "B-2")}, format="json")
    batch = items("B-1", "B-2", "B-3")
    batch[1]["summary"] = "Changed."
    response = jira.post(BATCH, {"source": "jira", "items": batch}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert [i["result"] for i in data["items"]] == ["unchanged", "updated", "created"]
    assert data["counts"] == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "error": 0,
        "not_written": 0,
    }
    assert data["written"] is True
    assert [i["index"] for i in data["items"]] == [0, 1, 2]
    assert all(i["url"].endswith(f"/initiatives/{i['key']}/") for i in data["items"])


def test_atomic_batch_with_a_bad_item_in_the_middle_writes_nothing(jira):
    batch = items("A-1", "A-2", "A-3")
    batch[1]["kind"] = "spaceship"
    batch[1]["owner"] = "ghost@example.com"
    before = Events.objects.count()
    response = jira.post(BATCH, {"source": "jira", "items": batch}, format="json")
    assert response.status_code == 400
    data = response.json()
    assert data["type"] == "validation_error"
    assert sorted(error_attrs(response)) == ["items.1.kind", "items.1.owner"]
    assert [i["result"] for i in data["items"]] == ["not_written", "error", "not_written"]
    assert data["counts"]["not_written"] == 2
    assert not Initiative.objects.filter(external_id__startswith="A-").exists()
    assert Events.objects.count() == before


def test_non_atomic_batch_writes_the_good_items(jira):
    batch = items("N-1", "N-2", "N-3")
    batch[1]["budget_planned"] = "-5"
    response = jira.post(BATCH, {"source": "jira", "items": batch, "atomic": False}, format="json")
    assert response.status_code == 200
    data = response.json()
    assert [i["result"] for i in data["items"]] == ["created", "error", "created"]
    assert data["items"][1]["errors"][0]["attr"] == "budget_planned"
    written = Initiative.objects.filter(external_id__startswith="N-")
    assert set(written.values_list("external_id", flat=True)) == {"N-1", "N-3"}


def test_duplicate_external_ids_in_a_batch_are_named(jira):
    response = jira.post(
        BATCH, {"source": "jira", "items": items("D-1", "D-2", "D-1", "D-2", "D-3")}, format="json"
    )
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["attr"]) == ("duplicate_external_id", "items")
    assert "D-1, D-2." in error["detail"]
    assert "D-3" not in error["detail"]
    assert not Initiative.objects.filter(external_id__startswith="D-").exists()


def test_more_than_5000_items_are_refused_naming_the_limit(pmo):
    too_many = [{"external_id": f"X-{i}"} for i in range(5001)]
    response = pmo.post(BATCH, {"source": "jira", "items": too_many}, format="json")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["attr"] == "items"
    assert "5000" in error["detail"]


def test_batch_envelope_is_validated(pmo):
    assert error_attrs(pmo.post(BATCH, {"items": []}, format="json")) == ["source"]
    assert error_attrs(pmo.post(BATCH, {"source": "jira", "items": {}}, format="json")) == ["items"]
    bad_atomic = pmo.post(BATCH, {"source": "jira", "items": [], "atomic": "maybe"}, format="json")
    assert error_attrs(bad_atomic) == ["atomic"]
    not_objects = pmo.post(
        BATCH, {"source": "jira", "items": ["x"], "atomic": False}, format="json"
    )
    assert not_objects.status_code == 200
    assert not_objects.json()["items"][0]["errors"][0]["code"] == "invalid"


def test_batch_overlaps_equal_join_or_justify_of_each_item(pmo, portfolio):
    batch = items("O-1", "O-2")
    batch += items("O-3", touchpoints=["email"], kind="automation")
    batch[2].update(  # overlaps the IT e-mail triage
        name="E-mail triage for service",
        summary="Routes incoming e-mails to the right queue.",
        lead_department="service",
    )
    response = pmo.post(BATCH, {"source": "jira", "items": batch}, format="json")
    assert response.status_code == 200
    for item in response.json()["items"]:
        initiative = Initiative.objects.get(key=item["key"])
        expected = reports.overlaps_for(initiative, user=portfolio.users["pmo"])
        assert item["overlaps"] == expected
        assert item["overlaps_count"] == len(expected)
        assert item["overlaps"], item["external_id"]
    assert [o["key"] for o in response.json()["items"][2]["overlaps"]] == [portfolio.key("triage")]


def test_batch_query_count_does_not_grow_with_the_batch(pmo):
    def run(prefix: str, n: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = pmo.post(
                BATCH,
                {"source": "jira", "items": items(*(f"{prefix}{i}" for i in range(n)))},
                format="json",
            )
        assert response.status_code == 200
        return len(queries)

    run("W", 2)  # warm the session and the permission caches
    assert run("S", 2) == run("L", 40)


def test_batch_of_one_and_of_fifty_run_the_same_queries(jira):
    """Join or justify included: created and updated items that overlap, as an integration."""

    def run(prefix: str, n: int) -> int:
        first = items(*(f"{prefix}{i}" for i in range(n)), stage="proposed")
        first += items(*(f"{prefix}same{i}" for i in range(n)), stage="approved")
        jira.post(BATCH, {"source": "jira", "items": first}, format="json")
        changed = items(*(f"{prefix}{i}" for i in range(n)), summary="Changed.")
        changed += items(*(f"{prefix}new{i}" for i in range(n)))
        changed += first[n:]  # unchanged
        with CaptureQueriesContext(connection) as queries:
            response = jira.post(BATCH, {"source": "jira", "items": changed}, format="json")
        assert response.status_code == 200, response.content
        answered = response.json()["items"]
        assert {i["result"] for i in answered} == {"created", "updated", "unchanged"}
        assert all(i["overlaps_count"] for i in answered if i["result"] != "unchanged")
        # Each item's gate gaps, unchanged ones included (approved needs a primary alignment).
        assert {i["result"]: i["gate_gaps"] for i in answered} == {
            "created": [],
            "updated": [],
            "unchanged": ["primary_alignment"],
        }
        return len(queries)

    run("W", 1)  # warm the session and the permission caches
    assert run("one", 1) == run("fifty", 50)


def test_join_or_justify_lists_the_best_20_and_counts_them_all(pmo, portfolio):
    for n in range(25):
        factories.InitiativeFactory(
            name=f"Billing chatbot {n}",
            summary="Answers billing questions in the chat.",
            kind=Kind.CHATBOT,
            owner=portfolio.people["ivy"],
            lead_department=portfolio.departments["it"],
            touchpoints=["chat"],
            journey_stages=["support"],
        )
    one = pmo.put(one_url("jira", "J-200"), items("J-200")[0], format="json").json()
    batch = pmo.post(BATCH, {"source": "jira", "items": items("J-201")}, format="json").json()

    for answer in (one, batch["items"][0]):
        initiative = Initiative.objects.get(key=answer["key"])
        expected = reports.overlaps_for(initiative, user=portfolio.users["pmo"])
        assert len(expected) == 26  # the 25 and the billing chat bot of service
        assert answer["overlaps_count"] == 26
        assert len(answer["overlaps"]) == 20
        assert {o["key"] for o in answer["overlaps"]} <= {o["key"] for o in expected}
    # The latest answer is what the scoring says now (the batch's own item changed how rare
    # its words are for the earlier answer).
    assert batch["items"][0]["overlaps"] == expected[:20]


def test_join_or_justify_shows_an_integration_no_confidential_initiative(pmo, jira, portfolio):
    secret = factories.InitiativeFactory(
        name="Secret billing chatbot",
        summary="Answers billing questions in the chat.",
        kind=Kind.CHATBOT,
        owner=portfolio.people["ivy"],
        lead_department=portfolio.departments["it"],
        touchpoints=["chat"],
        journey_stages=["support"],
        confidential=True,
    )
    everything = {portfolio.key("chat"), secret.key}
    by_pmo = pmo.post(BATCH, {"source": "jira", "items": items("C-1")}, format="json").json()
    assert {o["key"] for o in by_pmo["items"][0]["overlaps"]} == everything
    by_jira = jira.post(BATCH, {"source": "jira", "items": items("C-2")}, format="json").json()
    assert [o["key"] for o in by_jira["items"][0]["overlaps"]] == [portfolio.key("chat")]
    assert by_jira["items"][0]["overlaps_count"] == 1
    # Its own confidential item, which it may not read back, still gets its answer.
    mine = jira.put(one_url("jira", "C-3"), body(confidential=True, **BILLING_BOT), format="json")
    assert mine.status_code == 201, mine.content
    assert [o["key"] for o in mine.json()["overlaps"]] == [portfolio.key("chat")]


def test_each_sync_is_counted_in_the_metrics(jira):
    def sample(result: str) -> float:
        return SYNC_ITEMS.labels(source="jira", result=result)._value.get()

    created, unchanged, error = sample("created"), sample("unchanged"), sample("error")
    jira.post(BATCH, {"source": "jira", "items": items("M-1", "M-2")}, format="json")
    jira.put(one_url("jira", "M-1"), items("M-1")[0], format="json")
    jira.put(one_url("jira", "M-3"), body(kind="robot"), format="json")
    assert sample("created") - created == 2
    assert sample("unchanged") - unchanged == 1
    assert sample("error") - error == 1


# --- concurrency --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_http_batches_with_overlapping_ids():
    """Two clients, each with its own connection, sync overlapping batches at once: no
    deadlock, no duplicate, and every shared id ends with the values of the later write.
    """
    portfolio = make_portfolio()
    secret = portfolio.tokens["jira"][1]
    start = threading.Barrier(2)
    responses: dict[str, dict] = {}
    failures: list[BaseException] = []

    def worker(name: str, ids: range) -> None:
        from tests.api.support import api_client

        try:
            client = api_client(token=secret)
            batch = [{**body(name=f"{name} {i}"), "external_id": f"C-{i}"} for i in ids]
            start.wait(timeout=10)
            response = client.post(BATCH, {"source": "jira", "items": batch}, format="json")
            assert response.status_code == 200, response.content
            responses[name] = {row["external_id"]: row for row in response.json()["items"]}
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=("first", range(60))),
        threading.Thread(target=worker, args=("second", range(30, 90))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a batch hung (deadlock?)"
    assert failures == []
    synced = Initiative.objects.filter(source="jira", external_id__startswith="C-")
    assert synced.count() == 90
    assert synced.values("external_id").distinct().count() == 90
    for i in range(30, 60):
        external_id = f"C-{i}"
        results = {name: responses[name][external_id]["result"] for name in responses}
        assert sorted(results.values()) == ["created", "updated"]
        later = next(name for name, result in results.items() if result == "updated")
        initiative = synced.get(external_id=external_id)
        assert (initiative.name, initiative.version) == (f"{later} {i}", 2)
