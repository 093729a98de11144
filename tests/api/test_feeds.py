"""Change feeds of initiatives, goals and alignments: keyset paging, rows changing while a
client pages, transactions still in flight, archived rows and tombstones.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from registry.api.initiatives.filters import InitiativeListFilterSet
from registry.api.parts import AlignmentFilterSet
from registry.api.strategy import GoalFilterSet
from registry.models import Alignment, Dependency, Goal, Initiative, SavedView
from registry.sync import upsert as sync
from tests import factories
from tests.api.support import API, api_client, make_portfolio

EPOCH = "2000-01-01T00:00:00Z"


def drain(client, url: str, **params) -> tuple[list[dict], str]:
    """Follow `next` until the feed is drained; the rows and the `resume` link."""
    page = client.get(url, params).json()
    rows = list(page["results"])
    while page["next"]:
        page = client.get(page["next"]).json()
        rows += page["results"]
    return rows, page["resume"]


@pytest.fixture
def portfolio(db):
    return make_portfolio()


@pytest.fixture
def pmo(portfolio):
    return portfolio.client("pmo")


def sync_items(prefix: str, count: int, **fields) -> list[dict]:
    return [
        {"external_id": f"{prefix}{i}", "name": f"{prefix} {i}", "kind": "chatbot", **fields}
        for i in range(count)
    ]


# --- keyset paging ----------------------------------------------------------------------------


def test_rows_written_by_one_batch_share_a_timestamp_and_all_arrive_once(pmo):
    # A set-based sync stamps all its rows alike; DRF's offset cursor gave up past 1,000.
    result = sync.sync_batch(source="bulk", items=sync_items("T", 1200))
    assert result.counts()["created"] == 1200
    sync.sync_batch(source="bulk", items=sync_items("T", 1200, summary="Touched."))
    stamps = set(Initiative.objects.filter(source="bulk").values_list("updated_at", flat=True))
    assert len(stamps) == 1
    rows, _resume = drain(pmo, f"{API}initiatives/", updated_since=EPOCH, page_size=500)
    bulk = [row["external_id"] for row in rows if row["source"] == "bulk"]
    assert len(bulk) == len(set(bulk)) == 1200
    ids = [row["id"] for row in rows]
    positions = [(row["updated_at"], row["id"]) for row in rows]
    assert positions == sorted(positions)
    assert len(ids) == len(set(ids))


def test_resume_continues_after_the_last_row_and_nothing_repeats(pmo, portfolio):
    rows, resume = drain(pmo, f"{API}initiatives/", updated_since=EPOCH, page_size=2)
    assert pmo.get(resume).json()["results"] == []
    assert pmo.get(resume).json()["next"] is None
    chat = Initiative.objects.get(key=portfolio.key("chat"))
    chat.summary = "Edited after the first poll."
    chat.save()
    again = pmo.get(resume).json()
    assert [row["key"] for row in again["results"]] == [chat.key]
    assert again["results"][0]["summary"] == "Edited after the first poll."
    assert pmo.get(again["resume"]).json()["results"] == []


def test_an_empty_feed_resumes_from_where_it_started(pmo):
    future = (timezone.now() + datetime.timedelta(days=30)).isoformat()
    page = pmo.get(f"{API}initiatives/", {"updated_since": future}).json()
    assert page["results"] == []
    assert "cursor=" not in page["resume"]
    assert "updated_since=" in page["resume"]


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJ0IjoiMjAyNiJ9", "e30", "W10"])
def test_a_bad_cursor_is_a_400(pmo, cursor):
    response = pmo.get(f"{API}initiatives/", {"updated_since": EPOCH, "cursor": cursor})
    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "cursor"


# --- rows changing while a client pages ----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_paging_while_another_connection_updates_rows():
    """Every row is seen exactly once, or again after its update; none is lost."""
    make_portfolio()
    admin = get_user_model().objects.create(username="feed-admin", is_superuser=True)
    client = Client()
    client.force_login(admin)
    sync.sync_batch(source="feed", items=sync_items("F", 40))
    ids = sorted(Initiative.objects.values_list("pk", flat=True))
    updated_after_seen: dict[int, int] = {}
    seen: list[tuple[int, int]] = []  # (id, version) in the order delivered

    def update_in_other_connection(pks: list[int]) -> None:
        def work() -> None:
            try:
                for pk in pks:
                    initiative = Initiative.objects.get(pk=pk)
                    initiative.version += 1
                    initiative.summary = f"version {initiative.version}"
                    initiative.save()
            finally:
                connection.close()

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    page = client.get(f"{API}initiatives/", {"updated_since": EPOCH, "page_size": 6}).json()
    turn = 0
    while True:
        seen += [(row["id"], row["version"]) for row in page["results"]]
        seen_ids = {pk for pk, _version in seen}
        # Between pages, touch one row already delivered and one not yet delivered.
        unseen = [pk for pk in ids if pk not in seen_ids]
        delivered = [pk for pk, _v in seen]
        if turn < 5:
            targets = [delivered[turn]] + unseen[-1:]
            update_in_other_connection(targets)
            for pk in targets:
                if pk in seen_ids:
                    updated_after_seen[pk] = updated_after_seen.get(pk, 0) + 1
        turn += 1
        if not page["next"]:
            break
        page = client.get(page["next"]).json()

    counts: dict[int, int] = {}
    for pk, _version in seen:
        counts[pk] = counts.get(pk, 0) + 1
    assert set(counts) == set(ids), "a row was lost"
    for pk in ids:
        assert counts[pk] == 1 + updated_after_seen.get(pk, 0), pk
    last_version = dict(seen)
    stored = dict(Initiative.objects.values_list("pk", "version"))
    assert last_version == stored


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_transaction_still_in_flight_are_not_overtaken():
    """A slow transaction's row carries a time taken before a faster commit; the feed waits
    for it instead of moving the client's position past it.
    """
    make_portfolio()
    admin = get_user_model().objects.create(username="feed-admin", is_superuser=True)
    client = Client()
    client.force_login(admin)
    slow_row, fast_row = list(Initiative.objects.order_by("pk")[:2])
    _rows, resume = drain(client, f"{API}initiatives/", updated_since=EPOCH, page_size=50)
    written, release = threading.Event(), threading.Event()

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                row = Initiative.objects.get(pk=slow_row.pk)
                row.summary = "Written by a slow transaction."
                row.save()
                written.set()
                release.wait(timeout=20)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    try:
        assert written.wait(timeout=20)
        fast = Initiative.objects.get(pk=fast_row.pk)
        fast.summary = "Written and committed later."
        fast.save()
        early = client.get(resume).json()
        assert early["results"] == []  # the committed later row waits for the slow one
        assert early["resume"] == resume
    finally:
        release.set()
        thread.join(timeout=20)
    later = client.get(resume).json()
    assert [row["id"] for row in later["results"]] == [slow_row.pk, fast_row.pk]


# --- initiatives: archived and deleted ------------------------------------------------------


def test_archived_initiatives_are_rows_with_archived_at(pmo, portfolio):
    since = timezone.now().isoformat()
    key = portfolio.key("nbo")
    assert pmo.delete(f"{API}initiatives/{key}/").status_code == 204
    rows, _ = drain(pmo, f"{API}initiatives/", updated_since=since, include_archived="true")
    assert [(row["key"], row["source"], row["external_id"]) for row in rows] == [
        (key, "jira", "J-1")
    ]
    assert rows[0]["archived_at"] is not None
    pmo.post(f"{API}initiatives/{key}/restore/")
    rows, _ = drain(pmo, f"{API}initiatives/", updated_since=since)
    assert [(row["key"], row["archived_at"]) for row in rows] == [(key, None)]


def deleted_rows(client, resource: str) -> list[dict]:
    rows, _ = drain(client, f"{API}{resource}/", updated_since=EPOCH, page_size=500)
    return [row for row in rows if row.get("deleted")]


def test_hard_deleted_initiatives_become_tombstones(portfolio):
    nbo, secret = portfolio.initiatives["nbo"], portfolio.initiatives["secret"]
    nbo_pk = nbo.pk
    for initiative in (nbo, secret):
        initiative.review_decisions.all().delete()
        initiative.delete()  # a superuser's clean-up in the admin (see test_api_history)
    stones = deleted_rows(portfolio.client("pmo"), "initiatives")
    assert {row["key"] for row in stones} == {nbo.key, secret.key}
    mine = next(row for row in stones if row["key"] == nbo.key)
    assert set(mine) == {"id", "key", "source", "external_id", "deleted_at", "deleted"}
    assert (mine["id"], mine["source"], mine["external_id"]) == (nbo_pk, "jira", "J-1")
    viewer_stones = deleted_rows(portfolio.client("viewer"), "initiatives")
    assert [row["key"] for row in viewer_stones] == [nbo.key]


def test_a_source_s_feed_shows_only_that_source_s_tombstones(portfolio):
    """The same external id in two tools: a tool mirroring its source learns only of its own
    initiatives' deletions, never of another tool's."""
    for source in ("jira", "snow"):
        sync.sync_one(source=source, external_id="X-1", item={"name": source, "kind": "chatbot"})
    Initiative.objects.filter(external_id="X-1").delete()
    for client in (portfolio.client("pmo"), portfolio.client("integration")):
        rows, _ = drain(client, f"{API}initiatives/", updated_since=EPOCH, source="jira")
        assert {row["source"] for row in rows} == {"jira"}
        stones = [(row["source"], row["external_id"]) for row in rows if row.get("deleted")]
        assert stones == [("jira", "X-1")]
    rows, _ = drain(
        portfolio.client("pmo"), f"{API}initiatives/", updated_since=EPOCH, source="snow"
    )
    assert [(row["source"], row.get("deleted")) for row in rows] == [("snow", True)]


def hard_delete(*initiatives: Initiative) -> None:
    """A superuser's clean-up in the admin: the initiatives and what hangs on them."""
    for initiative in initiatives:
        initiative.review_decisions.all().delete()
        initiative.delete()


def feed_keys(client, resource: str, params: dict, *, deleted: bool) -> set[str]:
    response = client.get(f"{API}{resource}/", {**params, "updated_since": EPOCH, "page_size": 500})
    assert response.status_code == 200, (params, response.content)
    rows = response.json()["results"]
    assert response.json()["next"] is None
    return {
        row.get("key", row.get("code", row["id"]))
        for row in rows
        if bool(row.get("deleted")) == deleted
    }


def test_every_initiative_filter_applies_to_tombstones_as_it_did_to_the_row(portfolio):
    """A tombstone matches a filter exactly when the initiative matched it just before it
    was deleted — its own fields, and its departments, systems, tags, alignments and
    dependencies, which were deleted with it — for what each reader may see."""
    p = portfolio
    anchor = factories.InitiativeFactory(name="Anchor", kind="other")
    Dependency.objects.create(from_initiative=p.initiatives["nbo"], to_initiative=anchor)
    SavedView.objects.create(
        name="Jira pilots", slug="jira-view", owner=p.users["pmo"], query="source=jira", shared=True
    )
    # A link removed before (by another transaction) is not one it had when deleted.
    p.initiatives["chat"].departments.clear()
    link_events = Initiative.departments.through.pgh_event_models["department.remove"]
    link_events.objects.update(pgh_created_at=F("pgh_created_at") - datetime.timedelta(hours=1))
    doomed = [
        p.initiatives[name] for name in ("chat", "nbo", "triage", "secret", "legacy", "archived")
    ]
    keys = {initiative.key for initiative in doomed}
    filters = [
        {"stage": ["pilot", "approved"]},
        {"kind": "voicebot"},
        {"owner": "ivy@example.com"},
        {"risk_tier": "high"},
        {"touchpoint": "email"},
        {"journey_stage": "support"},
        {"interaction_mode": "proactive"},
        {"autonomy": "autonomous"},
        {"source": "jira"},
        {"external_id": "J-2"},
        {"segment": "retail"},
        {"confidential": "true"},
        {"customer_facing": "false"},
        {"archived": "true"},
        {"archived": "false"},
        {"include_archived": "true"},
        {"q": "billing"},
        {"q": p.key("nbo")},
        {"active_in": "2025-Q1"},
        {"department": "marketing"},
        {"department_id": str(p.departments["service"].pk)},
        {"system": "crm"},
        {"tag": "quick-win"},
        {"goal": "G-NPS"},
        {"vision": str(p.old_vision.pk)},
        {"theme": "Efficiency"},
        {"alignment": ["none"]},
        {"alignment": ["strong", "weak"]},
        {"aligned": "true"},
        {"aligned": "false"},
        {"depends_on": anchor.key},
        {"view": "jira-view"},
        {"view": "jira-view", "kind": "automation"},
        {"kind": "voicebot", "department": "service", "aligned": "true"},
        {"alignment": ["none", "weak"], "aligned": "true", "tag": "quick-win"},
    ]
    clients = {role: p.client(role) for role in ("pmo", "viewer")}
    before = {
        (role, index): feed_keys(client, "initiatives", params, deleted=False) & keys
        for role, client in clients.items()
        for index, params in enumerate(filters)
    }
    assert before[("pmo", 1)] == {p.key("secret"), p.key("legacy")}  # the test tests something
    assert before[("viewer", 1)] == {p.key("legacy")}
    hard_delete(*doomed)
    for role, client in clients.items():
        assert feed_keys(client, "initiatives", {}, deleted=True) == (
            keys if role == "pmo" else keys - {p.key("secret")}
        )
        for index, params in enumerate(filters):
            stones = feed_keys(client, "initiatives", params, deleted=True)
            assert stones == before[(role, index)], (role, params)


@pytest.mark.parametrize(
    "filterset",
    [InitiativeListFilterSet, GoalFilterSet, AlignmentFilterSet],
    ids=lambda filterset: filterset.__name__,
)
def test_each_filter_of_a_feed_says_how_it_applies_to_tombstones(filterset):
    for name in filterset.base_filters:
        assert (
            name in filterset.tombstone_exempt
            or name in filterset.tombstone_as_is
            or hasattr(filterset, f"tombstone_{name}")
        ), name


# --- goals ------------------------------------------------------------------------------------


def test_goal_delete_archives_and_restore_brings_it_back(pmo, portfolio):
    since = timezone.now().isoformat()
    url = f"{API}goals/G-AHT/"
    etag = pmo.get(url)["ETag"]
    archived = pmo.delete(url, HTTP_IF_MATCH=etag)
    assert archived.status_code == 204
    goal = Goal.objects.get(code="G-AHT")
    assert goal.archived_at is not None
    assert goal.version == 2
    assert "G-AHT" not in [g["code"] for g in pmo.get(f"{API}goals/").json()["results"]]
    both = pmo.get(f"{API}goals/", {"include_archived": "true", "page_size": 100}).json()
    assert "G-AHT" in [g["code"] for g in both["results"]]
    assert pmo.patch(url, {"title": "x"}, format="json").status_code == 409
    rows, _ = drain(pmo, f"{API}goals/", updated_since=since)
    assert [(row["code"], row["archived_at"] is not None) for row in rows] == [("G-AHT", True)]
    restored = pmo.post(f"{url}restore/")
    assert restored.status_code == 200
    assert restored.json()["archived_at"] is None
    assert restored["ETag"] == '"3"'
    rows, _ = drain(pmo, f"{API}goals/", updated_since=since)
    assert [(row["code"], row["archived_at"]) for row in rows] == [("G-AHT", None)]


def test_only_the_pmo_archives_goals(portfolio):
    for role in ("viewer", "contributor", "integration"):
        response = portfolio.client(role).delete(f"{API}goals/G-NPS/")
        assert response.status_code == 403, role
    assert Goal.objects.get(code="G-NPS").archived_at is None


def test_a_goal_deleted_in_the_admin_becomes_a_tombstone(pmo):
    superuser = get_user_model().objects.create(username="root", is_superuser=True, is_staff=True)
    admin = Client()
    admin.force_login(superuser)
    spare = factories.GoalFactory(code="G-SPARE")
    response = admin.post(f"/admin/registry/goal/{spare.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    rows = deleted_rows(pmo, "goals")
    assert [(row["id"], row["code"], row["deleted"]) for row in rows] == [
        (spare.pk, "G-SPARE", True)
    ]


# --- alignments -------------------------------------------------------------------------------


def test_goal_filters_apply_to_tombstones(portfolio):
    p = portfolio
    make = factories.GoalFactory
    spares = [
        make(vision=p.vision, code="G-X1", theme="loyalty", metric="csat", parent=p.goals["nps"]),
        make(vision=p.vision, code="G-X2", theme="reach", metric="conversion"),
        make(vision=p.old_vision, code="G-X3", theme="loyalty", metric="csat"),
    ]
    filters = [
        {"theme": "Loyalty"},
        {"metric": ["csat"]},
        {"vision": str(p.old_vision.pk)},
        {"active_vision": "true"},
        {"active_vision": "false"},
        {"parent": "G-NPS"},
        {"archived": "false"},
    ]
    pmo = p.client("pmo")
    codes = {goal.code for goal in spares}
    before = [feed_keys(pmo, "goals", params, deleted=False) & codes for params in filters]
    Goal.objects.filter(code__in=codes).delete()
    assert feed_keys(pmo, "goals", {}, deleted=True) == codes
    for params, expected in zip(filters, before, strict=True):
        assert feed_keys(pmo, "goals", params, deleted=True) == expected, params


def test_alignment_filters_apply_to_tombstones(portfolio):
    p = portfolio
    spare = factories.GoalFactory(vision=p.old_vision, code="G-GONE")
    gone = factories.AlignmentFactory(
        initiative=p.initiatives["chat"], goal=spare, strength=1, is_primary=False
    )
    doomed = Alignment.objects.exclude(initiative=p.initiatives["secret"])
    ids = set(doomed.values_list("pk", flat=True))
    filters = [
        {"goal": "G-NPS"},
        {"initiative": p.key("legacy")},
        {"strength": ["1"]},
        {"is_primary": "true"},
        {"vision": str(p.old_vision.pk)},
        {"vision": str(p.vision.pk)},
    ]
    pmo = p.client("pmo")
    before = [feed_keys(pmo, "alignments", params, deleted=False) & ids for params in filters]
    assert gone.pk in before[4]
    doomed.delete()
    spare.delete()  # the goal too: its own tombstone still names the vision
    assert feed_keys(pmo, "alignments", {}, deleted=True) == ids
    for params, expected in zip(filters, before, strict=True):
        assert feed_keys(pmo, "alignments", params, deleted=True) == expected, params


def test_deleted_alignments_are_tombstones_in_the_feed(pmo, portfolio):
    chat = portfolio.initiatives["chat"]
    added = pmo.post(
        f"{API}alignments/",
        {"initiative": chat.key, "goal": "G-AHT", "strength": 1},
        format="json",
    )
    assert added.status_code == 201
    alignment_id = added.json()["id"]
    assert pmo.delete(f"{API}alignments/{alignment_id}/").status_code == 204
    rows = deleted_rows(pmo, "alignments")
    assert rows[0] == {
        "id": alignment_id,
        "initiative": chat.key,
        "goal": "G-AHT",
        "deleted_at": rows[0]["deleted_at"],
        "deleted": True,
    }


def initiative_key(row: dict) -> str:
    """Live alignments name their initiative in brief form; tombstones by key."""
    initiative = row["initiative"]
    return initiative if isinstance(initiative, str) else initiative["key"]


def test_sync_replacing_alignments_shows_changes_and_deletions(pmo, portfolio):
    created = sync.sync_one(
        source="jira",
        external_id="AL-1",
        item={
            "name": "Aligned bot",
            "kind": "chatbot",
            "alignments": [{"goal": "G-NPS", "strength": 3}, {"goal": "G-AHT", "strength": 1}],
        },
    )
    before = timezone.now()
    sync.sync_one(
        source="jira",
        external_id="AL-1",
        item={"alignments": [{"goal": "G-NPS", "strength": 2, "is_primary": True}]},
    )
    rows, _ = drain(pmo, f"{API}alignments/", updated_since=EPOCH, page_size=500)
    mine = [row for row in rows if initiative_key(row) == created.key]
    changed = [row for row in mine if not row.get("deleted")]
    gone = [row for row in mine if row.get("deleted")]
    assert [(row["goal"]["code"], row["strength"], row["version"]) for row in changed] == [
        ("G-NPS", 2, 2)
    ]
    assert datetime.datetime.fromisoformat(changed[0]["updated_at"]) > before
    assert [(row["initiative"], row["goal"]) for row in gone] == [(created.key, "G-AHT")]


def test_tombstones_of_confidential_initiatives_stay_hidden(portfolio):
    secret = portfolio.initiatives["secret"]
    Alignment.objects.filter(initiative=secret).delete()
    assert [row["initiative"] for row in deleted_rows(portfolio.client("pmo"), "alignments")] == [
        secret.key
    ]
    assert deleted_rows(portfolio.client("viewer"), "alignments") == []
    teamie = deleted_rows(portfolio.client("teamie"), "alignments")
    assert [row["initiative"] for row in teamie] == [secret.key]


def test_feed_query_count_is_flat(pmo, portfolio):
    sync.sync_batch(
        source="q",
        items=[{**item, "alignments": [{"goal": "G-NPS"}]} for item in sync_items("Q", 30)],
    )
    doomed = Alignment.objects.filter(initiative__source="q").values_list("pk", flat=True)[:10]
    Alignment.objects.filter(pk__in=list(doomed)).delete()

    hard_delete(*Initiative.objects.filter(source="q")[:5])

    def count(url: str, size: int, **filters: str) -> int:
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            response = pmo.get(url, {"updated_since": EPOCH, "page_size": size, **filters})
        assert response.status_code == 200
        return len(queries)

    for resource, filters in (
        ("initiatives", {}),
        ("initiatives", {"source": "q", "goal": "G-NPS", "department": "it", "q": "Q"}),
        ("goals", {}),
        ("goals", {"theme": "loyalty", "active_vision": "true"}),
        ("alignments", {}),
        ("alignments", {"goal": "G-NPS", "vision": str(portfolio.vision.pk)}),
    ):
        url = f"{API}{resource}/"
        assert count(url, 1, **filters) == count(url, 40, **filters), (resource, filters)


def test_schema_documents_feed_items_and_resume(db):
    schema = api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    components = schema.json()["components"]["schemas"]
    for name, tombstone in (
        ("AlignmentFeedItem", "AlignmentTombstone"),
        ("GoalFeedItem", "GoalTombstone"),
        ("InitiativeFeedItem", "InitiativeTombstone"),
    ):
        refs = [entry["$ref"].rsplit("/", 1)[1] for entry in components[name]["oneOf"]]
        assert tombstone in refs
    paged = [c for n, c in components.items() if n.startswith("Paginated") and "Feed" in n]
    assert paged
    assert all("resume" in c["properties"] for c in paged)
