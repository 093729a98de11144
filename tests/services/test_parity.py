"""One core, thin surfaces: every write rule answers the same through every surface that can
attempt it — the admin's forms, the API, a sync PUT, a batch sync and a spreadsheet import.

Each rule is tried as the actor it is about (a contributor who owns an initiative, a viewer,
the integration of the initiative's source) through each surface, and must be refused with
the same message, with nothing written. The regressions of the findings that led here (the
admin allowing what the API refused, roles drifting) are the same table's rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from registry import choices, permissions
from registry.models import Initiative, ReviewDecision, SavedView
from registry.services import lifecycle
from registry.spreadsheets import exports, imports
from tests import factories
from tests.admin.test_admin import form_data
from tests.api.support import api_client, make_portfolio

pytestmark = pytest.mark.django_db

API = "/api/v1/"


@pytest.fixture
def world(db) -> Any:
    """A contributor (Carol, customer service) owns `chat`, which the jira integration syncs."""
    p = make_portfolio()
    for role in ("viewer", "contributor", "pmo"):
        p.users[role].is_staff = True
        p.users[role].save(update_fields=["is_staff"])
    chat = p.initiatives["chat"]
    Initiative.objects.filter(pk=chat.pk).update(source="jira", external_id="J-CHAT")
    chat.refresh_from_db()
    return p


@dataclass
class Attempt:
    """What a surface answered: whether it refused, and the words it used."""

    refused: bool
    message: str


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def admin_edit(p: Any, role: str, initiative: Initiative, **changes: Any) -> Attempt:
    client = admin_client(p.users[role])
    url = reverse("admin:registry_initiative_change", args=[initiative.pk])
    data = form_data(client.get(url))
    for name, value in changes.items():
        if value is True:
            data[name] = "on"
        elif value is False:
            data.pop(name, None)
        else:
            data[name] = value
    response = client.post(url, data)
    if response.status_code == 302:
        return Attempt(False, "")
    errors = response.context["adminform"].form.errors
    return Attempt(True, " ".join(str(e) for field in errors.values() for e in field))


def api_edit(p: Any, role: str, initiative: Initiative, **changes: Any) -> Attempt:
    client = p.client(role)
    url = f"{API}initiatives/{initiative.key}/"
    version = client.get(url).json()["version"]
    response = client.patch(url, changes, format="json", HTTP_IF_MATCH=f'"{version}"')
    if response.status_code < 300:
        return Attempt(False, "")
    return Attempt(True, response.json()["errors"][0]["detail"])


def sync_put(p: Any, initiative: Initiative, **changes: Any) -> Attempt:
    client = p.client("integration")
    body = {"name": initiative.name, "kind": initiative.kind, **changes}
    url = f"{API}initiatives/sync/jira/{initiative.external_id}/"
    response = client.put(url, body, format="json")
    if response.status_code < 300:
        return Attempt(False, "")
    return Attempt(True, response.json()["errors"][0]["detail"])


def sync_batch(p: Any, initiative: Initiative, **changes: Any) -> Attempt:
    client = p.client("integration")
    item = {"external_id": initiative.external_id, "name": initiative.name, **changes}
    response = client.post(
        f"{API}initiatives/sync/",
        {"source": "jira", "atomic": False, "items": [item]},
        format="json",
    )
    result = response.json()["items"][0]
    if result["result"] != "error":
        return Attempt(False, "")
    return Attempt(True, result["errors"][0]["detail"])


def import_rows(p: Any, initiative: Initiative, actor: Any, **changes: Any) -> Attempt:
    """The registry's own layout, exported and read back with `changes` made to its row."""
    exported = exports.export_csv(
        exports.export_queryset(Initiative.objects.filter(pk=initiative.pk))
    )
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    rows[0].update({name: str(value).lower() for name, value in changes.items()})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    report = imports.import_file(
        buffer.getvalue().encode(),
        filename="portfolio.csv",
        mapping=imports.load_mapping("registry-export"),
        source="jira",
        actor=actor,
        atomic=False,
    )
    rejected = [outcome for outcome in report.rows if outcome.status == "rejected"]
    if not rejected:
        return Attempt(False, "")
    return Attempt(True, " ".join(error.message for error in rejected[0].errors))


def unchanged(initiative: Initiative, **fields: Any) -> bool:
    fresh = Initiative.objects.get(pk=initiative.pk)
    return all(getattr(fresh, name) == value for name, value in fields.items())


# --- the table ---------------------------------------------------------------------------------


def test_a_hand_over_to_another_department_is_the_pmos_on_every_surface(world):
    chat, marketing = world.initiatives["chat"], world.departments["marketing"]
    attempts = {
        "admin": admin_edit(world, "contributor", chat, lead_department=marketing.pk),
        "api": api_edit(world, "contributor", chat, lead_department="marketing"),
        "admin (owner)": admin_edit(world, "contributor", chat, owner=world.people["mark"].pk),
        "api (owner)": api_edit(world, "contributor", chat, owner="mark@example.com"),
    }
    expected = (
        f"Only the PMO hands {chat.key} to an owner or lead department outside your own department."
    )
    assert attempts == dict.fromkeys(attempts, Attempt(True, expected))
    assert unchanged(chat, lead_department=world.departments["service"])
    assert unchanged(chat, owner=world.people["carol"])


def test_the_sync_identity_is_not_a_contributors_on_any_surface(world):
    chat = world.initiatives["chat"]
    expected = "You may not move an initiative to another source or external id."
    attempts = {
        "admin source": admin_edit(world, "contributor", chat, source="servicenow"),
        "api source": api_edit(world, "contributor", chat, source="servicenow"),
        "admin external id": admin_edit(world, "contributor", chat, external_id="X"),
        "api external id": api_edit(world, "contributor", chat, external_id="X"),
    }
    assert attempts == dict.fromkeys(attempts, Attempt(True, expected))
    assert unchanged(chat, source="jira", external_id="J-CHAT")


def test_confidentiality_is_the_pmos_on_every_surface(world):
    chat = world.initiatives["chat"]
    expected = f"Only the PMO changes whether {chat.key} is confidential."
    attempts = {
        "admin": admin_edit(world, "contributor", chat, confidential=True),
        "api": api_edit(world, "contributor", chat, confidential=True),
        "sync put": sync_put(world, chat, confidential=True),
        "batch sync": sync_batch(world, chat, confidential=True),
    }
    assert attempts == dict.fromkeys(attempts, Attempt(True, expected))
    assert unchanged(chat, confidential=False)
    # Clearing it is refused alike (the finding: a contributor published their own).
    Initiative.objects.filter(pk=chat.pk).update(confidential=True)
    cleared = {
        "admin": admin_edit(world, "contributor", chat, confidential=False),
        "api": api_edit(world, "contributor", chat, confidential=False),
    }
    assert cleared == dict.fromkeys(cleared, Attempt(True, expected))
    assert unchanged(chat, confidential=True)
    # The PMO may, and the spreadsheet import (the PMO's) carries the same change.
    assert api_edit(world, "pmo", chat, confidential=False) == Attempt(False, "")
    assert import_rows(world, chat, world.users["pmo"], confidential="true") == Attempt(False, "")
    assert unchanged(chat, confidential=True)


def test_an_archived_initiative_is_restored_before_it_changes_on_every_surface(world):
    chat = world.initiatives["chat"]
    pmo = world.users["pmo"]
    Initiative.objects.filter(pk=chat.pk).update(archived_at="2026-11-01T00:00:00Z")
    expected = f"{chat.key} is archived; restore it first."
    assert api_edit(world, "pmo", chat, name="Renamed") == Attempt(True, expected)
    admin = admin_client(pmo).post(
        reverse("admin:registry_initiative_change", args=[chat.pk]), {"name": "Renamed"}
    )
    assert admin.status_code in (200, 302)
    assert expected in import_rows(world, chat, pmo, name="Renamed").message
    assert sync_put(world, chat, name="Renamed").refused
    assert unchanged(chat, name="Billing chatbot")


def pause_by_the_board(p: Any, initiative: Initiative) -> None:
    review = factories.ReviewFactory(vision=p.vision, period="2027-Q1")
    ReviewDecision.objects.create(
        review=review, initiative=initiative, decision=choices.Decision.PAUSE
    )
    lifecycle.initiative_transition(
        initiative=initiative, to_stage=choices.Stage.PAUSED, note="Board: pause.", actor=None
    )


def test_a_board_pause_is_lifted_by_the_pmo_only_on_every_surface(world):
    chat = world.initiatives["chat"]
    pause_by_the_board(world, chat)
    expected = (
        f"The 2027-Q1 review paused {chat.key}; only the PMO resumes it, so the board's "
        "decision is not undone without them."
    )
    api = world.client("contributor").post(
        f"{API}initiatives/{chat.key}/transition/", {"to": "pilot", "note": "Back on."}
    )
    assert api.status_code == 403
    admin = admin_client(world.users["contributor"]).post(
        reverse("admin:registry_initiative_transition", args=[chat.pk]),
        {"to_stage": "pilot", "note": "Back on."},
        follow=True,
    )
    attempts = {
        "api": Attempt(True, api.json()["errors"][0]["detail"]),
        "admin": Attempt(
            True, " ".join(str(m) for m in admin.context["messages"] if "review" in str(m))
        ),
        "sync put": sync_put(world, chat, stage="pilot", note="Back on."),
        "batch sync": sync_batch(world, chat, stage="pilot", note="Back on."),
    }
    assert attempts == dict.fromkeys(attempts, Attempt(True, expected))
    assert unchanged(chat, stage=choices.Stage.PAUSED)
    # The PMO lifts it.
    resumed = world.client("pmo").post(
        f"{API}initiatives/{chat.key}/transition/", {"to": "pilot", "note": "Board agreed."}
    )
    assert resumed.status_code == 200, resumed.content


def test_a_hidden_initiative_is_no_dependency_target_on_any_surface(world):
    """The finding: the admin let a contributor link to a confidential initiative the API
    answered "no initiative with key" for. Both now answer as for a key that does not exist."""
    chat, secret = world.initiatives["chat"], world.initiatives["secret"]
    contributor = admin_client(world.users["contributor"])

    def admin_add(target_pk: int) -> str:
        response = contributor.post(
            reverse("admin:registry_dependency_add"),
            {"from_initiative": chat.pk, "to_initiative": target_pk, "note": "needs it"},
        )
        assert response.status_code == 200
        return str(response.context["adminform"].form.errors["to_initiative"])

    def api_add(key: str) -> str:
        response = world.client("contributor").post(
            f"{API}dependencies/", {"from_initiative": chat.key, "to_initiative": key}
        )
        assert response.status_code == 400
        return response.json()["errors"][0]["detail"].replace(key, "KEY")

    missing = Initiative.objects.order_by("-pk").first().pk + 1000
    assert admin_add(secret.pk) == admin_add(missing)  # "Select a valid choice", no name
    assert secret.name not in admin_add(secret.pk)
    assert api_add(secret.key) == api_add("AI-9999")
    assert not chat.dependencies.filter(to_initiative=secret).exists()


def test_sharing_a_saved_view_is_the_pmos_on_every_surface(world):
    viewer = world.users["viewer"]
    api = api_client(viewer).post(
        f"{API}saved-views/", {"name": "Pilots", "query": "stage=pilot", "shared": True}
    )
    assert api.status_code == 403
    expected = "Only the PMO shares a saved view: shared views are listed for everyone."
    assert api.json()["errors"][0]["detail"] == expected
    # The admin does not offer the checkbox; a forged one is refused on the form.
    client = admin_client(viewer)
    page = client.get(reverse("admin:registry_savedview_add"))
    assert 'name="shared"' not in page.content.decode()
    client.post(
        reverse("admin:registry_savedview_add"),
        {"name": "Pilots", "slug": "", "query": "stage=pilot", "shared": "on"},
    )
    assert not SavedView.objects.filter(shared=True).exists()
    assert SavedView.objects.filter(owner=viewer, shared=False).count() == 1


def test_the_pmo_makes_every_one_of_these_changes(world):
    """The other side of each rule: nothing above refuses the PMO."""
    chat = world.initiatives["chat"]
    changes: dict[str, Callable[[], Attempt]] = {
        "hand-over": lambda: api_edit(world, "pmo", chat, lead_department="marketing"),
        "identity": lambda: api_edit(world, "pmo", chat, external_id="J-CHAT-2"),
        "confidential": lambda: admin_edit(world, "pmo", chat, confidential=True),
    }
    for name, attempt in changes.items():
        assert attempt() == Attempt(False, ""), name
    assert unchanged(chat, external_id="J-CHAT-2", confidential=True)
    assert permissions.is_pmo(world.users["pmo"])


# --- sync and API writers share one version counter ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sync_batches_and_if_match_patches_never_store_one_version_twice():
    """The finding: a batch read without a lock and wrote an absolute version, so beside
    If-Match PATCHes 14 writes advanced the version by 9 and one ETag stood for two states."""
    import threading

    from django.db import connection

    from registry.services.initiatives import initiative_update
    from registry.services.lifecycle import StaleVersionError
    from registry.sync import upsert

    p = make_portfolio()
    chat = p.initiatives["chat"]
    Initiative.objects.filter(pk=chat.pk).update(source="jira", external_id="J-CHAT")
    pmo = p.users["pmo"]
    writes = []
    lock = threading.Lock()
    event_model = Initiative.pgh_event_models["update"]
    before = event_model.objects.order_by("-pgh_id").values_list("pgh_id", flat=True).first()

    def sync_writer(n: int) -> None:
        try:
            for i in range(4):
                batch = upsert.sync_batch(
                    source="jira",
                    items=[{"external_id": "J-CHAT", "summary": f"sync {n}.{i}"}],
                    actor=permissions.Actor(user=pmo),
                )
                if batch.items[0].result == "updated":
                    with lock:
                        writes.append(("sync", batch.items[0].version))
        finally:
            connection.close()

    def api_writer(n: int) -> None:
        try:
            for i in range(4):
                # A client with If-Match re-reads and retries on a stale version (412), as
                # docs/API.md tells tools to; each of its writes lands once.
                for _attempt in range(50):
                    stored = Initiative.objects.get(pk=chat.pk)
                    try:
                        saved = initiative_update(
                            actor=permissions.Actor(user=pmo),
                            initiative=stored,
                            changes={"hypothesis": f"api {n}.{i}"},
                            expected_version=stored.version,
                        )
                    except StaleVersionError:
                        continue
                    with lock:
                        writes.append(("api", saved.version))
                    break
        finally:
            connection.close()

    threads = [threading.Thread(target=sync_writer, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=api_writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)

    final = Initiative.objects.get(pk=chat.pk).version
    versions = [version for _channel, version in writes]
    assert len(versions) >= 8  # both kinds of writer got through, many times
    assert {channel for channel, _version in writes} == {"sync", "api"}
    assert sorted(versions) == list(range(2, final + 1))  # every write one step, none twice
    events = event_model.objects.filter(pgh_obj_id=chat.pk, pgh_id__gt=before)
    stored = list(events.values_list("version", flat=True))
    assert len(stored) == len(versions)
    assert len(stored) == len(set(stored))  # one state per version in the history
