"""Saved import mappings in the admin: the PMO's list, edited as YAML through the same service
as the builder (a mapping that does not parse is refused on the field), deleted through it,
and nobody else's to see."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.models import ImportMapping
from registry.permissions import Actor
from registry.services.import_mappings import import_mapping_save
from registry.spreadsheets import builder

pytestmark = pytest.mark.django_db

YAML = "name: Roadmap\nsource: roadmap\nid: Nr\nfields:\n  name: Vorhaben\n"


def saved(user, name: str) -> ImportMapping:
    return import_mapping_save(
        actor=Actor(user=user), name=name, yaml_text=YAML, **builder.mapping_rules(name)
    )


def test_the_pmo_adds_a_mapping_and_a_broken_one_is_refused_on_the_field(pmo_client, pmo_user):
    url = reverse("admin:registry_importmapping_add")
    refused = pmo_client.post(url, {"name": "roadmap", "yaml": "id: Nr\nfields:\n  colour: C\n"})
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert "cannot be imported" in errors["yaml"][0]
    assert not ImportMapping.objects.exists()
    added = pmo_client.post(url, {"name": "Road Map", "yaml": YAML})
    assert added.status_code == 302
    mapping = ImportMapping.objects.get()
    assert (mapping.name, mapping.created_by) == ("road-map", pmo_user)
    shipped = pmo_client.post(url, {"name": "us-federal-2023", "yaml": YAML})
    assert "shipped with the registry" in shipped.context["adminform"].form.errors["name"][0]


def test_the_pmo_edits_and_deletes_through_the_service(pmo_client, pmo_user):
    mapping = saved(pmo_user, "roadmap")
    change = reverse("admin:registry_importmapping_change", args=[mapping.pk])
    page = pmo_client.get(change).content.decode()
    assert f"{reverse('registry_import:start')}?mapping=roadmap" in page
    edited = YAML.replace("Vorhaben", "Titel")
    assert pmo_client.post(change, {"name": "roadmap", "yaml": edited}).status_code == 302
    assert "Titel" in ImportMapping.objects.get().yaml
    # The import page opens with it chosen.
    start = pmo_client.get(reverse("registry_import:start") + "?mapping=roadmap").content.decode()
    assert '<option value="roadmap" selected>' in start
    changelist = reverse("admin:registry_importmapping_changelist")
    response = pmo_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [mapping.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert not ImportMapping.objects.exists()


def test_the_changelist_runs_a_constant_number_of_queries(pmo_client, pmo_user):
    url = reverse("admin:registry_importmapping_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert pmo_client.get(url).status_code == 200
        return len(captured)

    saved(pmo_user, "one")
    few = queries()
    for n in range(8):
        saved(pmo_user, f"more-{n}")
    assert queries() == few


@pytest.mark.parametrize("role", ["viewer_user", "contributor_user"])
def test_nobody_else_sees_or_changes_them(role, request, pmo_user):
    mapping = saved(pmo_user, "roadmap")
    client = Client()
    client.force_login(request.getfixturevalue(role))
    for url in (
        reverse("admin:registry_importmapping_changelist"),
        reverse("admin:registry_importmapping_add"),
        reverse("admin:registry_importmapping_change", args=[mapping.pk]),
        reverse("admin:registry_importmapping_delete", args=[mapping.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("admin:registry_importmapping_add"), {"name": "x", "yaml": YAML}
        ).status_code
        == 403
    )
    assert "Import mappings" not in client.get(reverse("admin:index")).content.decode()
    assert ImportMapping.objects.count() == 1
