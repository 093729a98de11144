"""The OpenAPI schema validates without warnings, documents what integrators need, and the
interactive docs are served from local files (no CDN).
"""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command

from tests.api.support import api_client


def test_spectacular_validates_without_warnings(db, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text())
    assert schema["openapi"].startswith("3.")


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    """Generated once for the module (it takes seconds); the schema reads no rows."""
    with django_db_blocker.unblock():
        response = api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


RESOURCES = [
    "visions",
    "goals",
    "measurements",
    "departments",
    "people",
    "initiatives",
    "alignments",
    "systems",
    "dependencies",
    "notes",
    "tags",
    "team-roles",
    "stage-changes",
    "reviews",
    "review-decisions",
    "changes",
]


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_resource_is_documented(schema, resource):
    assert f"/api/v1/{resource}/" in schema["paths"]


def test_transition_and_concurrency_are_documented(schema):
    transition = schema["paths"]["/api/v1/initiatives/{key}/transition/"]["post"]
    body = transition["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    request = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert set(request["properties"]) == {"to", "note"}
    assert {"409", "412", "428"} <= set(transition["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in transition["parameters"])
    put = schema["paths"]["/api/v1/initiatives/{key}/"]["put"]
    assert {"400", "401", "403", "404", "409", "412", "428", "429"} <= set(put["responses"])
    read = schema["paths"]["/api/v1/initiatives/{key}/"]["get"]["responses"]["200"]
    assert "ETag" in read["headers"]
    error409 = schema["components"]["schemas"]["Error409"]
    assert {"code", "detail", "attr", "missing"} <= set(error409["properties"])


def test_enums_and_filters_are_exact(schema):
    components = schema["components"]["schemas"]
    assert components["StageEnum"]["enum"] == [
        "idea",
        "proposed",
        "approved",
        "pilot",
        "scaling",
        "production",
        "retired",
        "paused",
        "stopped",
    ]
    listing = schema["paths"]["/api/v1/initiatives/"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {
        "stage",
        "kind",
        "department",
        "owner",
        "goal",
        "vision",
        "theme",
        "alignment",
        "aligned",
        "risk_tier",
        "touchpoint",
        "journey_stage",
        "interaction_mode",
        "tag",
        "q",
        "active_in",
        "updated_since",
        "archived",
        "source",
        "system",
        "segment",
        "autonomy",
        "depends_on",
        "ordering",
        "page",
        "page_size",
        "cursor",
    } <= names
    assert "text/csv" in listing["responses"]["200"]["content"]
    # writes name related objects by natural key, reads show them in brief
    assert "oneOf" in components["InitiativeRequest"]["properties"]["owner"]
    assert "BriefPerson" in str(components["Initiative"]["properties"]["owner"])
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_docs_are_served_without_a_cdn(db):
    client = api_client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(not source.startswith(("http://", "https://", "//")) for source in sources)
    bundle = next(s for s in sources if s.endswith("swagger-ui-bundle.js"))
    assert client.get(bundle).status_code == 200


def _ref(schema: dict, obj: dict) -> dict:
    return schema["components"]["schemas"][obj["$ref"].rsplit("/", 1)[1]]


def test_request_bodies_are_json_only(schema):
    bodies = [
        (path, method, set(operation["requestBody"]["content"]))
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "requestBody" in operation
    ]
    assert bodies
    # A spreadsheet upload is a file: the one multipart body, and only multipart.
    uploads = [(path, types) for path, _method, types in bodies if path == "/api/v1/imports/"]
    assert uploads == [("/api/v1/imports/", {"multipart/form-data"})]
    others = [body for body in bodies if body[0] != "/api/v1/imports/"]
    assert all(types == {"application/json"} for _path, _method, types in others), others


def test_a_list_page_and_a_feed_page_are_two_shapes(schema):
    listing = schema["paths"]["/api/v1/initiatives/"]["get"]["responses"]["200"]
    pages = listing["content"]["application/json"]["schema"]["oneOf"]
    numbered, feed = (_ref(schema, page) for page in pages)
    assert {"count", "results"} <= set(numbered["required"])
    assert "resume" not in numbered["properties"]
    assert numbered["properties"]["results"]["items"] == {"$ref": "#/components/schemas/Initiative"}
    assert "resume" in feed["required"]
    assert "count" not in feed["properties"]
    item = _ref(schema, feed["properties"]["results"]["items"])
    assert [entry["$ref"].rsplit("/", 1)[1] for entry in item["oneOf"]] == [
        "Initiative",
        "InitiativeTombstone",
    ]
    # An initiative's history is numbered pages; the change feed is a keyset feed.
    history = schema["paths"]["/api/v1/initiatives/{key}/history/"]["get"]["responses"]["200"]
    changes = schema["paths"]["/api/v1/changes/"]["get"]["responses"]["200"]
    assert (
        "resume" not in _ref(schema, history["content"]["application/json"]["schema"])["properties"]
    )
    assert "resume" in _ref(schema, changes["content"]["application/json"]["schema"])["required"]


def test_absent_values_are_nullable_not_blank(schema):
    initiative = schema["components"]["schemas"]["Initiative"]["properties"]
    for name in ("paused_from", "created_by", "updated_by", "owner", "archived_at"):
        assert initiative[name].get("nullable") or "NullEnum" in str(initiative[name]), name
    stage_change = schema["components"]["schemas"]["StageChange"]["properties"]
    assert "NullEnum" in str(stage_change["from_stage"])
    change = schema["components"]["schemas"]["Change"]["properties"]
    assert change["actor"]["nullable"]
    assert "NullEnum" in str(change["channel"])


def test_error_answers_are_documented_where_they_happen(schema):
    paths = schema["paths"]
    create = paths["/api/v1/initiatives/"]["post"]["responses"]
    assert {"400", "413", "415", "503"} <= set(create)
    error = _ref(schema, create["400"]["content"]["application/json"]["schema"])
    item = _ref(schema, error["properties"]["errors"]["items"])
    assert item["properties"]["code"]["type"] == "string"  # an open set: constraint names
    assert item["properties"]["attr"]["nullable"]
    # A read without parameters parses nothing: no 400, 413 or 415.
    read = paths["/api/v1/initiatives/{key}/"]["get"]["responses"]
    assert not {"400", "413", "415"} & set(read)
    assert "400" in paths["/api/v1/initiatives/"]["get"]["responses"]  # filters


def test_the_reports_root_is_one_object(schema):
    root = schema["paths"]["/api/v1/reports/"]["get"]["responses"]["200"]
    index = _ref(schema, root["content"]["application/json"]["schema"])
    assert index["type"] == "object"
    assert "portfolio" in index["properties"]
