"""Every answer the tests receive from the API conforms to the OpenAPI schema (`/api/schema/`).

`checking()` wraps Django's test `Client.request` (which DRF's `APIClient` calls too), so
every request a test sends to `/api/v1/…` through any test client has its answer checked
against the operation the schema documents for that method and path, with schemathesis'
own checks — the same code `make fuzz` runs against a live server:

- the status code is documented for the operation,
- the content type is one it documents for that status,
- documented response headers have their documented form,
- the body validates against the documented schema (JSON; CSV and XLSX are typed as text).

A request to a path the schema documents with a method it does not (a DELETE on a read-only
resource) must answer with one of the errors every operation of that path documents, in
its documented shape. OPTIONS (DRF's metadata), HEAD (no body), the browsable API (HTML a
person asked for) and URLs outside the schema are not checked.

Why schemathesis rather than openapi-core or bare jsonschema: it is already pinned for the
fuzz run, is actively maintained, understands OpenAPI 3.0 (`nullable`, `oneOf` with
discriminators, `$ref`s) and validates with a compiled Rust validator (jsonschema-rs) that
it caches per response definition: a page of 50 initiatives is checked in 0.7 ms (the
request itself takes 25 ms), a 404 in 0.3 ms. A failure names the operation, the schema
path and the offending value.

The schema is generated once per test session (it takes about two seconds), as the
`/api/schema/` view generates it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import requests
import schemathesis
from django.http import HttpResponse, StreamingHttpResponse
from django.test.client import Client
from schemathesis import Response as CheckedResponse
from schemathesis.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

API_PREFIX = "/api/v1/"
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
UNCHECKED_METHODS = frozenset({"OPTIONS", "HEAD"})
PARAMETER = re.compile(r"\{(\w+)\}")


def schema_document() -> dict[str, Any]:
    """The OpenAPI document as `/api/schema/` serves it (JSON)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer
    from drf_spectacular.settings import spectacular_settings

    generator = SchemaGenerator()
    document = generator.get_schema(request=None, public=spectacular_settings.SERVE_PUBLIC)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


class Operations:
    """The schema's operations, found by a request's method and path."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.schema = schemathesis.openapi.from_dict(document)
        self.document = document
        # Most literal templates first: `/initiatives/export/` before `/initiatives/{key}/`,
        # `/initiatives/sync/{source}/{external_id}/` before `/initiatives/{key}/`.
        templates = sorted(document["paths"], key=lambda t: (-len(PARAMETER.sub("", t)), t))
        self.strict = [(self._pattern(t), t) for t in templates]
        # A last path parameter may hold slashes (a sync's external id): tried after.
        self.lenient = [(self._pattern(t, last=".+"), t) for t in templates]
        self._operations: dict[tuple[str, str], Any] = {}

    @staticmethod
    def _pattern(template: str, last: str = "[^/]+") -> re.Pattern:
        parts = PARAMETER.split(template)
        regex = "".join(
            re.escape(part)
            if index % 2 == 0
            else f"(?P<{part}>{last if index == len(parts) - 2 else '[^/]+'})"
            for index, part in enumerate(parts)
        )
        return re.compile(f"^{regex}$")

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        for candidates in (self.strict, self.lenient):
            for pattern, template in candidates:
                found = pattern.match(path)
                if found:
                    return template, found.groupdict()
        return None

    def operation(self, template: str, method: str) -> Any:
        key = (template, method)
        if key not in self._operations:
            self._operations[key] = self.schema[template][method]
        return self._operations[key]

    def methods(self, template: str) -> list[str]:
        return [
            method.upper()
            for method in self.document["paths"][template]
            if method in ("get", "post", "put", "patch", "delete")
        ]


@functools.cache
def operations() -> Operations:
    return Operations(schema_document())


def _content(response: HttpResponse) -> bytes:
    if isinstance(response, StreamingHttpResponse) or getattr(response, "streaming", False):
        # Read the stream and hand the test the same bytes again.
        content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        response.streaming_content = [content]  # type: ignore[attr-defined]
        return content
    return response.content


def _checked_response(response: HttpResponse, environ: dict[str, Any]) -> CheckedResponse:
    method = environ["REQUEST_METHOD"]
    query = environ.get("QUERY_STRING", "")
    url = f"http://testserver{environ['PATH_INFO']}" + (f"?{query}" if query else "")
    headers = {
        name[5:].replace("_", "-").title(): str(value)
        for name, value in environ.items()
        if name.startswith("HTTP_")
    }
    return CheckedResponse(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.items()},
        content=_content(response),
        request=requests.Request(method, url, headers=headers).prepare(),
        elapsed=0.0,
        verify=True,
        encoding=response.charset,
    )


def _browsable(environ: dict[str, Any]) -> bool:
    """The request asked for the browsable API: pages for people, not part of the schema."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return "text/html" in str(environ.get("HTTP_ACCEPT", "")) or query.get("format") == ["api"]


def check(response: HttpResponse, environ: dict[str, Any]) -> None:
    """Raise (failing the test) when the answer is not what the schema documents."""
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
    if not path.startswith(API_PREFIX) or method in UNCHECKED_METHODS or _browsable(environ):
        return
    known = operations()
    found = known.match(path)
    if found is None:
        return  # not an operation of the schema (an unknown URL answers the 404 shape)
    template, path_parameters = found
    documented = known.methods(template)
    if method not in documented:
        # The method is not offered here: the answer is one of the errors documented for
        # every operation of this path (405, or 401/403 first), in that shape.
        assert response.status_code >= 400, (method, path, response.status_code)
        method = documented[0]
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    case = known.operation(template, method).Case(
        path_parameters=path_parameters,
        query={name: values if len(values) > 1 else values[0] for name, values in query.items()},
    )
    case.validate_response(_checked_response(response, environ), checks=CHECKS)


@contextlib.contextmanager
def checking() -> Iterator[None]:
    """Check every API answer of every test client while the context is open."""
    original = Client.request

    def request(self: Client, **environ: Any) -> HttpResponse:
        response = original(self, **environ)
        check(response, response.request if hasattr(response, "request") else environ)
        return response

    Client.request = request  # type: ignore[method-assign]
    try:
        yield
    finally:
        Client.request = original  # type: ignore[method-assign]
