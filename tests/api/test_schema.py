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
