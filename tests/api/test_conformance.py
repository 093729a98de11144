"""The check that every API answer of the suite conforms to the schema (tests/api/conformance.py)
catches what it must: a body, a status or a content type the schema does not document.
"""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.test import Client
from schemathesis.core.failures import FailureGroup

from registry import permissions
from tests.api import conformance
from tests.api.support import make_user


def answer(body: object, *, status: int = 200, content_type: str = "application/json"):
    text = body if isinstance(body, str) else json.dumps(body)
    return HttpResponse(text, status=status, content_type=content_type)


def environ(method: str, path: str, query: str = "") -> dict:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}


PAGE = {"count": 0, "count_exact": True, "next": None, "previous": None, "results": []}
NOT_FOUND = {
    "type": "client_error",
    "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}],
    "request_id": "0f3c",
}


def failure_codes(excinfo: pytest.ExceptionInfo) -> set[str]:
    return {failure.code for failure in excinfo.value.exceptions}


def test_a_documented_answer_passes():
    conformance.check(answer(PAGE), environ("GET", "/api/v1/visions/"))
    conformance.check(answer(NOT_FOUND, status=404), environ("GET", "/api/v1/visions/7/"))


def test_a_body_outside_the_schema_fails():
    with pytest.raises(FailureGroup) as excinfo:
        conformance.check(answer({**PAGE, "count": "none"}), environ("GET", "/api/v1/visions/"))
    assert failure_codes(excinfo) == {"ST108"}


def test_an_undocumented_status_fails():
    with pytest.raises(FailureGroup) as excinfo:
        conformance.check(answer(NOT_FOUND, status=418), environ("GET", "/api/v1/visions/"))
    assert failure_codes(excinfo) == {"ST103"}


def test_an_undocumented_content_type_fails():
    with pytest.raises(FailureGroup) as excinfo:
        conformance.check(
            answer("<p>no</p>", content_type="text/html"), environ("GET", "/api/v1/visions/")
        )
    assert "ST105" in failure_codes(excinfo)


def test_an_error_shape_outside_the_schema_fails():
    with pytest.raises(FailureGroup):
        conformance.check(
            answer({"detail": "Not found."}, status=404), environ("GET", "/api/v1/visions/7/")
        )
    without_request_id = {key: NOT_FOUND[key] for key in ("type", "errors")}
    with pytest.raises(FailureGroup):
        conformance.check(
            answer(without_request_id, status=404), environ("GET", "/api/v1/visions/7/")
        )


def test_a_method_the_path_does_not_offer_must_answer_a_documented_error():
    refused = {
        "type": "client_error",
        "errors": [{"code": "method_not_allowed", "detail": "No.", "attr": None}],
        "request_id": "0f3c",
    }
    conformance.check(answer(refused, status=405), environ("DELETE", "/api/v1/reports/"))
    with pytest.raises(AssertionError):
        conformance.check(answer(PAGE), environ("DELETE", "/api/v1/reports/"))


def test_paths_are_matched_to_their_most_literal_template():
    operations = conformance.operations()
    assert operations.match("/api/v1/initiatives/export/")[0] == "/api/v1/initiatives/export/"
    template, parameters = operations.match("/api/v1/initiatives/sync/jira/PROJ/12/a b/")
    assert template == "/api/v1/initiatives/sync/{source}/{external_id}/"
    assert parameters == {"source": "jira", "external_id": "PROJ/12/a b"}
    assert operations.match("/api/v1/initiatives/AI-0001/")[0] == "/api/v1/initiatives/{key}/"


def test_the_browsable_api_is_not_checked(db):
    client = Client()
    client.force_login(make_user("browser", permissions.PMO))
    page = client.get("/api/v1/initiatives/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    # Its raw form posts JSON, the one body type the API takes.
    assert 'value="application/json"' in page.content.decode()
    assert "multipart/form-data" not in page.content.decode()


def test_answers_outside_the_api_are_not_checked():
    conformance.check(answer("<html></html>", content_type="text/html"), environ("GET", "/admin/"))
    conformance.check(answer("{}", status=418), environ("GET", "/api/v1/no-such-thing/"))
