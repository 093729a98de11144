"""A small benchmark of the initiative list serializer (pytest-benchmark).

It runs in `make test` with a few rounds so CI exercises it; time is reported, never
judged (speed is proven by `make bench`, not by timed tests). Skipped where
pytest-benchmark is not installed.
"""

from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from registry.api.core.json_renderer import FastJSONRenderer
from registry.api.initiatives import fast_read
from registry.api.initiatives.serializers import InitiativeSerializer
from registry.api.initiatives.views import initiative_rows
from tests.api.test_queries import portfolio  # noqa: F401 (the fixture)

pytest.importorskip("pytest_benchmark")


def test_list_serializer(benchmark, portfolio):  # noqa: F811
    request = Request(APIRequestFactory().get("/api/v1/initiatives/", HTTP_HOST="127.0.0.1"))
    page = list(initiative_rows().order_by("key"))  # what the list view fetches
    related = fast_read.fetch_related([row.id for row in page])

    def render() -> bytes:
        context = {"request": request, "related": related}
        data = InitiativeSerializer(page, many=True, context=context).data
        return FastJSONRenderer().render(data)

    body = benchmark.pedantic(render, rounds=5, iterations=1, warmup_rounds=1)
    assert body.count(b'"key":"AI-') == len(page) > 10
