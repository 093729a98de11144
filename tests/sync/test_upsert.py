"""Sync module: idempotent upserts, atomic batches, gates on update, imports at any stage."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from registry.choices import Stage
from registry.models import Alignment, Initiative, Person, StageChange
from registry.sync import upsert as sync
from tests import factories


@pytest.fixture
def world(db):
    vision = factories.VisionFactory()
    service = factories.DepartmentFactory(slug="service", name="Service")
    it = factories.DepartmentFactory(slug="it", name="IT")
    owner = factories.PersonFactory(email="ana@example.com", department=service)
    crm = factories.SystemFactory(slug="crm")
    goal = factories.GoalFactory(vision=vision, code="G-NPS")
    other_goal = factories.GoalFactory(vision=vision, code="G-CES")
    tag = factories.TagFactory(name="quick-win")
    return {
        "service": service,
        "it": it,
        "owner": owner,
        "crm": crm,
        "goal": goal,
        "other_goal": other_goal,
        "tag": tag,
    }


def item(external_id: str, **fields):
    return {
        "external_id": external_id,
        "name": f"Bot {external_id}",
        "kind": "chatbot",
        "summary": "Answers questions.",
        "owner": "ana@example.com",
        "lead_department": "service",
        "departments": ["it"],
        "systems": ["crm"],
        "tags": ["quick-win"],
        "touchpoints": ["chat"],
        **fields,
    }


def test_create_then_same_body_is_unchanged(world):
    first = sync.sync_one(source="jira", external_id="J-1", item=item("J-1"))
    assert first.result == "created"
    assert first.key.startswith("AI-")
    initiative = Initiative.objects.get(key=first.key)
    assert initiative.owner == world["owner"]
    assert set(initiative.departments.values_list("slug", flat=True)) == {"it"}
    second = sync.sync_one(source="jira", external_id="J-1", item=item("J-1"))
    assert second.result == "unchanged"
    assert second.version == first.version
    assert Initiative.objects.count() == 1


def test_omitted_fields_stay_and_changes_bump_version(world):
    created = sync.sync_one(
        source="jira", external_id="J-1", item=item("J-1", hypothesis="Fewer calls.")
    )
    updated = sync.sync_one(
        source="jira", external_id="J-1", item={"name": "Billing bot", "tags": []}
    )
    assert updated.result == "updated"
    assert updated.version == created.version + 1
    initiative = Initiative.objects.get(key=created.key)
    assert initiative.name == "Billing bot"
    assert initiative.hypothesis == "Fewer calls."
    assert initiative.tags.count() == 0
    assert initiative.systems.count() == 1


def test_unknown_natural_keys_are_listed(world):
    result = sync.sync_one(
        source="jira",
        external_id="J-1",
        item=item("J-1", systems=["crm", "nope", "zzz"], owner="ghost@example.com"),
    )
    assert result.result == "error"
    details = {error.attr: error.detail for error in result.errors}
    assert "nope" in details["systems"]
    assert "zzz" in details["systems"]
    assert "ghost@example.com" in details["owner"]
    assert not Initiative.objects.exists()


def test_owner_with_name_and_email_is_created(world):
    result = sync.sync_one(
        source="jira",
        external_id="J-1",
        item=item("J-1", owner={"email": "New@Example.com", "name": "New Person"}),
    )
    assert result.result == "created"
    assert Person.objects.get(email="new@example.com").name == "New Person"


def test_create_at_stage_records_import_and_gate_gaps(world):
    result = sync.sync_one(
        source="servicenow", external_id="SN-7", item=item("SN-7", stage="production")
    )
    assert result.result == "created"
    assert result.stage == Stage.PRODUCTION
    change = StageChange.objects.get(initiative__key=result.key)
    assert change.imported_from == "servicenow"
    assert change.to_stage == Stage.PRODUCTION
    assert "primary_alignment" in result.gate_gaps
    assert "hypothesis" in result.gate_gaps


def test_stage_on_update_goes_through_gates(world):
    sync.sync_one(source="jira", external_id="J-1", item=item("J-1", stage="proposed"))
    refused = sync.sync_one(source="jira", external_id="J-1", item={"stage": "approved"})
    assert refused.result == "error"
    assert refused.errors[0].code == "gate_not_met"
    assert Initiative.objects.get().stage == Stage.PROPOSED
    moved = sync.sync_one(
        source="jira",
        external_id="J-1",
        item={
            "stage": "pilot",
            "alignments": [{"goal": "G-NPS", "strength": "strong"}],
            "hypothesis": "Bots cut waiting time.",
            "success_criteria": "AHT -10%",
        },
    )
    assert moved.result == "updated", moved.errors
    initiative = Initiative.objects.get()
    assert initiative.stage == Stage.PILOT
    assert list(initiative.stage_changes.values_list("from_stage", "to_stage").order_by("id")) == [
        ("", "proposed"),
        ("proposed", "approved"),
        ("approved", "pilot"),
    ]
    assert Alignment.objects.get(initiative=initiative).is_primary


def test_atomic_batch_with_a_bad_item_writes_nothing(world):
    items = [item("A"), item("B", kind="spaceship"), item("C")]
    result = sync.sync_batch(source="jira", items=items)
    assert not result.written
    assert [i.result for i in result.items] == ["", "error", ""]
    assert result.items[1].errors[0].attr == "kind"
    assert not Initiative.objects.exists()


def test_non_atomic_batch_writes_the_good_items(world):
    items = [item("A"), item("B", budget_planned="-5"), item("C")]
    result = sync.sync_batch(source="jira", items=items, atomic=False)
    assert result.written
    assert result.counts() == {"created": 2, "updated": 0, "unchanged": 0, "error": 1}
    assert set(Initiative.objects.values_list("external_id", flat=True)) == {"A", "C"}


def test_duplicate_ids_in_a_batch_are_refused(world):
    with pytest.raises(sync.SyncError) as refused:
        sync.sync_batch(source="jira", items=[item("A"), item("B"), item("A")])
    assert refused.value.code == "duplicate_external_id"
    assert "A" in refused.value.message


def test_batch_mixing_created_updated_unchanged(world):
    sync.sync_batch(source="jira", items=[item("A"), item("B")])
    result = sync.sync_batch(source="jira", items=[item("A"), item("B", name="Renamed"), item("C")])
    assert [i.result for i in result.items] == ["unchanged", "updated", "created"]


def test_alignments_replace_and_keep_one_primary(world):
    sync.sync_one(
        source="jira",
        external_id="A",
        item=item("A", alignments=[{"goal": "G-NPS", "strength": 3, "is_primary": True}]),
    )
    sync.sync_one(
        source="jira",
        external_id="A",
        item={
            "alignments": [
                {"goal": "G-NPS", "strength": 1},
                {"goal": "G-CES", "strength": 2, "is_primary": True},
            ]
        },
    )
    primary = Alignment.objects.get(is_primary=True)
    assert primary.goal.code == "G-CES"
    assert Alignment.objects.count() == 2


def test_archived_external_id_is_reported(world):
    created = sync.sync_one(source="jira", external_id="A", item=item("A"))
    Initiative.objects.filter(key=created.key).update(archived_at="2026-01-01T00:00:00Z")
    again = sync.sync_one(source="jira", external_id="A", item=item("A"))
    assert again.errors[0].code == "archived"


def test_sync_query_count_does_not_grow_with_batch(world, django_assert_max_num_queries):
    sync.sync_batch(source="jira", items=[item(f"W{i}") for i in range(3)])

    def run(n, prefix):
        from django.db import reset_queries
        from django.test.utils import CaptureQueriesContext

        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            sync.sync_batch(source="jira", items=[item(f"{prefix}{i}") for i in range(n)])
        return len(ctx.captured_queries)

    assert run(2, "S") == run(40, "L")


@pytest.mark.django_db(transaction=True)
def test_concurrent_batches_create_no_duplicates():
    factories.DepartmentFactory(slug="service")
    factories.DepartmentFactory(slug="it")
    factories.PersonFactory(email="ana@example.com")
    factories.SystemFactory(slug="crm")
    factories.TagFactory(name="quick-win")
    errors = []

    def worker(offset):
        try:
            items = [item(f"X{i}", name=f"from {offset}") for i in range(offset, offset + 60)]
            sync.sync_batch(source="jira", items=items)
        except Exception as error:  # noqa: BLE001 - surfaced through the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in (0, 30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Initiative.objects.filter(source="jira").count() == 90
    assert Initiative.objects.values("external_id").distinct().count() == 90
