"""The direct read path of initiatives (registry.api.fast_read) answers exactly what DRF's
nested serializers answer, and the orjson renderer writes the same JSON as DRF's.
"""

from __future__ import annotations

import datetime
import json

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from registry import choices
from registry.api.core.json_renderer import FastJSONRenderer
from registry.api.initiatives.serializers import InitiativeSerializer
from registry.api.initiatives.views import InitiativeViewSet
from registry.models import Initiative
from tests import factories
from tests.api.support import API
from tests.api.test_queries import portfolio  # noqa: F401 (the fixture)


def _request(path: str = "/api/v1/initiatives/") -> Request:
    return Request(APIRequestFactory().get(path, HTTP_HOST="127.0.0.1"))


def _both(queryset, request):
    fast = InitiativeSerializer(queryset, many=True, context={"request": request}).data
    slow = InitiativeSerializer(
        queryset, many=True, context={"request": request, "fast_read": False}
    ).data
    return json.loads(JSONRenderer().render(fast)), json.loads(JSONRenderer().render(slow))


def test_fast_path_equals_drf_on_every_initiative(portfolio):  # noqa: F811
    # Archived, paused and unowned ones too, with odd text.
    odd = factories.InitiativeFactory(
        name="Ünïcode \u2028 line", external_id=None, summary="", start_date=None
    )
    odd.archived_at = datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=datetime.UTC)
    odd.save()
    paused = factories.InitiativeFactory(
        name="Paused pilot", stage=choices.Stage.PAUSED, paused_from=choices.Stage.PILOT
    )
    queryset = InitiativeViewSet.annotated(Initiative.objects.all()).order_by("key")
    fast, slow = _both(queryset, _request())
    assert len(fast) == Initiative.objects.count() > 10
    for fast_item, slow_item in zip(fast, slow, strict=True):
        assert list(fast_item) == list(slow_item)  # same keys, same order
        assert fast_item == slow_item, fast_item["key"]
        # A stage or null, never "" (not a member of the schema's StageEnum).
        expected = "pilot" if fast_item["key"] == paused.key else None
        assert fast_item["paused_from"] == expected, fast_item["key"]


def test_fast_path_follows_the_current_time_zone(portfolio):  # noqa: F811
    queryset = InitiativeViewSet.annotated(Initiative.objects.all()).order_by("key")
    with timezone.override("Asia/Kolkata"):
        fast, slow = _both(queryset, _request())
    assert fast == slow
    assert fast[0]["created_at"].endswith("+05:30")


def test_fast_path_is_what_the_api_answers(portfolio):  # noqa: F811
    client = portfolio.client("pmo")
    listed = client.get(f"{API}initiatives/?page_size=100&include_archived=true").json()
    request = _request()
    queryset = InitiativeViewSet.annotated(Initiative.objects.all()).order_by("key")
    slow = InitiativeSerializer(
        queryset, many=True, context={"request": request, "fast_read": False}
    ).data
    by_key = {item["key"]: json.loads(JSONRenderer().render(item)) for item in slow}
    for item in listed["results"]:
        expected = json.loads(json.dumps(by_key[item["key"]]).replace("127.0.0.1", "testserver"))
        assert item == expected
    key = listed["results"][0]["key"]
    assert client.get(f"{API}initiatives/{key}/").json() == listed["results"][0]


def test_without_prefetched_relations_drf_answers(portfolio):  # noqa: F811
    initiative = Initiative.objects.first()  # not annotated, nothing prefetched
    data = InitiativeSerializer(initiative, context={"request": _request()}).data
    assert data["key"] == initiative.key
    assert data.get("alignment_level") is None  # DRF skips a read-only field it cannot read


@pytest.mark.parametrize(
    "data",
    [
        {"text": "plain", "n": 1, "f": 1.5, "none": None, "list": [1, "a", True]},
        {"unicode": "Grüße \u2028 \u2029 ✓", "nested": {"a": [{"b": "c"}]}},
        [],
    ],
)
def test_orjson_renderer_writes_drfs_json(data):
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)


def test_orjson_renderer_keeps_drfs_indent():
    rendered = FastJSONRenderer().render({"a": 1}, "application/json; indent=4", {})
    assert rendered == JSONRenderer().render({"a": 1}, "application/json; indent=4", {})
