"""Saved import mappings: the PMO's only, validated as mappings, and read by name by the command
line beside the shipped ones (one mechanism)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from registry.models import ImportMapping, Initiative
from registry.permissions import Actor
from registry.services.errors import ForbiddenError, InvalidError, StateConflictError
from registry.services.import_mappings import import_mapping_delete, import_mapping_save
from registry.spreadsheets import builder, imports

pytestmark = pytest.mark.django_db

YAML = """
name: Service roadmap
source: roadmap
id: Nr
fields:
  name: Vorhaben
  kind: {value: chatbot}
"""


def save(user, name="service-roadmap", text=YAML):
    return import_mapping_save(
        actor=Actor(user=user), name=name, yaml_text=text, **builder.mapping_rules(name)
    )


def test_the_pmo_saves_a_mapping_and_the_command_line_finds_it_by_name(pmo_user, tmp_path):
    saved = save(pmo_user)
    assert (saved.name, saved.created_by) == ("service-roadmap", pmo_user)
    assert imports.load_mapping("service-roadmap").name == "Service roadmap"
    path = tmp_path / "roadmap.csv"
    path.write_text("Nr;Vorhaben\n7;Rückruf-Bot\n", encoding="utf-8")
    out = io.StringIO()
    call_command(
        "import_initiatives", str(path), "--mapping", "service-roadmap", "--no-progress", stdout=out
    )
    assert "roadmap" in out.getvalue()
    bot = Initiative.objects.get(source="roadmap", external_id="7")
    assert (bot.name, bot.kind) == ("Rückruf-Bot", "chatbot")


@pytest.mark.parametrize("role", ["viewer_user", "contributor_user"])
def test_nobody_but_the_pmo_saves_or_deletes(role, request, pmo_user):
    user = request.getfixturevalue(role)
    with pytest.raises(ForbiddenError):
        save(user)
    saved = save(pmo_user)
    with pytest.raises(ForbiddenError):
        import_mapping_delete(actor=Actor(user=user), mapping=saved)
    assert ImportMapping.objects.count() == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "top level"),
        ("id: Nr\nfields:\n  stage: {column: S, map: {Live: launched}}\n", "not one of"),
        ("id: Nr\nfields:\n  colour: C\n", "cannot be imported"),
    ],
)
def test_a_mapping_that_does_not_parse_is_refused_and_nothing_saved(pmo_user, text, message):
    with pytest.raises(InvalidError, match=message) as refused:
        save(pmo_user, text=text)
    assert refused.value.field == "yaml"
    assert not ImportMapping.objects.exists()


def test_a_shipped_mappings_name_or_a_taken_one_is_refused(pmo_user):
    with pytest.raises(StateConflictError, match="shipped"):
        save(pmo_user, name="us-federal-2025")
    save(pmo_user)
    with pytest.raises(StateConflictError, match="already"):
        save(pmo_user, name="Service Roadmap")  # the same name once made a slug
    assert ImportMapping.objects.count() == 1


def test_a_mapping_saved_later_broken_is_a_clear_mapping_error(pmo_user):
    save(pmo_user)
    ImportMapping.objects.update(yaml="id: Nr\nfields: {}\n")
    with pytest.raises(imports.MappingError, match="needs fields"):
        imports.load_mapping("service-roadmap")
    assert builder.saved_mappings() == []
