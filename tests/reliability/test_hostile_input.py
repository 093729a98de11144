"""Hostile input, round two: what an attacker tried against a running server, each a 4xx in
the one error shape (never a 500), at the depth where it is refused.
"""

from __future__ import annotations

import base64
import json

import pytest

from registry.models import Alignment, Initiative
from tests.api.support import API, make_portfolio
from tests.api.test_access import db_state


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def assert_error_shape(response, status: int = 400) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert body["type"] in {"validation_error", "client_error"}
    assert {"code", "detail", "attr"} <= set(body["errors"][0])
    return body


def cursor_of(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# --- keyset cursors -----------------------------------------------------------------------------

FEEDS = ["initiatives/", "alignments/", "goals/"]
BAD_KEYS = ["abc", "", "1", 1.5, 10**30, -(2**63) - 1, None, True, [1], {"k": 1}]


@pytest.mark.parametrize("path", FEEDS)
@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_a_cursor_whose_key_is_not_a_row_id_is_400(portfolio, path, key):
    """{"t": …, "k": "abc"} reached the (time, id) comparison: a 500 (ValueError)."""
    cursor = cursor_of({"t": "2026-01-01T00:00:00+00:00", "k": key})
    response = portfolio.client("pmo").get(API + path, {"cursor": cursor})
    body = assert_error_shape(response)
    assert body["errors"][0]["attr"] == "cursor"


@pytest.mark.parametrize(
    "payload",
    [
        {"t": "2026-01-01T00:00:00", "k": 1},  # no time zone
        {"t": 20260101, "k": 1},
        {"t": "9999-12-31T23:59:59.999999-23:59", "k": 1},  # beyond PostgreSQL's range
        {"t": "2026-01-01T00:00:00+00:00"},
        ["2026-01-01T00:00:00+00:00", 1],
        "2026",
    ],
    ids=repr,
)
def test_a_malformed_cursor_is_400(portfolio, payload):
    response = portfolio.client("pmo").get(f"{API}initiatives/", {"cursor": cursor_of(payload)})
    assert_error_shape(response)


def test_a_well_formed_cursor_still_pages(portfolio):
    cursor = cursor_of({"t": "2000-01-01T00:00:00+00:00", "k": 0})
    for path in FEEDS:
        response = portfolio.client("pmo").get(API + path, {"cursor": cursor})
        assert response.status_code == 200, (path, response.content[:300])
        assert response.json()["results"]


def test_the_change_feed_still_refuses_a_numeric_key(portfolio):
    cursor = cursor_of({"t": "2026-01-01T00:00:00+00:00", "k": 5})
    response = portfolio.client("pmo").get(f"{API}changes/", {"cursor": cursor})
    assert_error_shape(response)


# --- ordering -------------------------------------------------------------------------------------

ORDERED_LISTS = [
    "initiatives/",
    "goals/",
    "alignments/",
    "visions/",
    "measurements/",
    "departments/",
    "people/",
    "reviews/",
]


@pytest.mark.parametrize("path", ORDERED_LISTS)
@pytest.mark.parametrize("value", ["key,", ",", ",,", " , ", "-", "name,,name", "--name"])
def test_an_ordering_with_an_empty_or_malformed_term_is_400(portfolio, path, value):
    """`?ordering=key,` and `?ordering=,` reached order_by(""): a 500 (FieldError)."""
    response = portfolio.client("pmo").get(API + path, {"ordering": value})
    body = assert_error_shape(response)
    assert body["errors"][0]["attr"] == "ordering"


def test_a_valid_ordering_still_orders(portfolio):
    response = portfolio.client("pmo").get(f"{API}initiatives/", {"ordering": "-name,key"})
    assert response.status_code == 200
    names = [row["name"] for row in response.json()["results"]]
    assert names == sorted(names, reverse=True)


# --- decimals in a sync batch -----------------------------------------------------------------

HOSTILE_DECIMALS = ["sNaN", "NaN", "-Infinity", "Infinity", "inf", "1e20", "1e-20", "12345678901"]


@pytest.mark.parametrize("value", HOSTILE_DECIMALS)
def test_a_non_finite_or_out_of_range_impact_refuses_only_its_item(portfolio, value):
    """`sNaN`, `Infinity` or `1e20` failed a non-atomic batch whole, naming no field."""
    items = [
        {"external_id": "H-1", "name": "Good one", "kind": "chatbot"},
        {
            "external_id": "H-2",
            "name": "Bad impact",
            "kind": "chatbot",
            "alignments": [{"goal": "G-NPS", "strength": 3, "expected_impact": value}],
        },
        {
            "external_id": "H-3",
            "name": "Good impact",
            "kind": "chatbot",
            "alignments": [{"goal": "G-NPS", "strength": 3, "expected_impact": "2.5"}],
        },
    ]
    response = portfolio.client("integration").post(
        f"{API}initiatives/sync/", {"source": "jira", "items": items, "atomic": False}
    )
    assert response.status_code == 200, response.content[:400]
    body = response.json()
    assert [item["result"] for item in body["items"]] == ["created", "error", "created"]
    assert body["items"][1]["errors"][0]["attr"] == "alignments.0.expected_impact"
    written = set(Initiative.objects.filter(source="jira").values_list("external_id", flat=True))
    assert {"H-1", "H-3"} <= written
    assert "H-2" not in written
    impact = Alignment.objects.get(initiative__external_id="H-3").expected_impact
    assert str(impact) == "2.5000"


@pytest.mark.parametrize("value", HOSTILE_DECIMALS)
def test_a_hostile_impact_in_an_atomic_batch_names_its_field(portfolio, value):
    before = db_state()
    items = [
        {
            "external_id": "H-2",
            "name": "Bad impact",
            "kind": "chatbot",
            "alignments": [{"goal": "G-NPS", "expected_impact": value}],
        }
    ]
    response = portfolio.client("integration").post(
        f"{API}initiatives/sync/", {"source": "jira", "items": items}
    )
    body = assert_error_shape(response)
    assert body["errors"][0]["attr"] == "items.0.alignments.0.expected_impact"
    assert db_state() == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("budget_planned", "sNaN"),
        ("budget_planned", "Infinity"),
        ("budget_planned", "1e20"),
        ("budget_spent", "-Infinity"),
    ],
)
def test_a_hostile_budget_in_a_sync_item_names_its_field(portfolio, field, value):
    items = [
        {"external_id": "H-1", "name": "Good one", "kind": "chatbot"},
        {"external_id": "H-2", "name": "Bad budget", "kind": "chatbot", field: value},
    ]
    response = portfolio.client("integration").post(
        f"{API}initiatives/sync/", {"source": "jira", "items": items, "atomic": False}
    )
    assert response.status_code == 200, response.content[:400]
    results = response.json()["items"]
    assert [item["result"] for item in results] == ["created", "error"]
    assert results[1]["errors"][0]["attr"] == field


@pytest.mark.parametrize("value", ["sNaN", "Infinity", "1e20"])
def test_a_hostile_impact_through_the_alignment_api_is_400(portfolio, value):
    response = portfolio.client("pmo").post(
        f"{API}alignments/",
        {
            "initiative": portfolio.key("legacy"),
            "goal": "G-AHT",
            "strength": 2,
            "expected_impact": value,
        },
    )
    body = assert_error_shape(response)
    assert body["errors"][0]["attr"] == "expected_impact"


# --- deeply nested JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize(
    "path", ["initiatives/", "initiatives/sync/", "alignments/", "saved-views/", "webhooks/"]
)
def test_deeply_nested_json_is_400(portfolio, path, depth):
    """A 2 KB body nested 1,000 levels deep was a RecursionError (500)."""
    raw = b"[" * depth + b"]" * depth
    response = portfolio.client("pmo").generic(
        "POST", API + path, raw, content_type="application/json"
    )
    body = assert_error_shape(response)
    assert body["errors"][0]["code"] == "parse_error"


def test_nesting_a_real_body_needs_stays_accepted(portfolio):
    """Saved views keep filters as JSON: a few levels are normal."""
    response = portfolio.client("integration").post(
        f"{API}initiatives/sync/",
        {
            "source": "jira",
            "items": [
                {
                    "external_id": "N-1",
                    "name": "Nested",
                    "kind": "chatbot",
                    "owner": {"email": "carol@example.com", "name": "Carol"},
                    "alignments": [{"goal": "G-NPS", "strength": "strong"}],
                }
            ],
        },
    )
    assert response.status_code == 200, response.content[:300]


# --- found by reliability/hostile.py ------------------------------------------------------------


@pytest.mark.parametrize("path", ["initiatives/", "initiatives/sync/", "tags/", "webhooks/"])
def test_a_form_body_of_10000_fields_is_refused(portfolio, path):
    """Django's DATA_UPLOAD_MAX_NUMBER_FIELDS raised TooManyFieldsSent: a 500 through DRF.
    The API takes JSON only now, so a form body is refused (415) before it is parsed."""
    body = "&".join(f"p{n}=1" for n in range(10_000))
    response = portfolio.client("pmo").generic(
        "POST", API + path, body, content_type="application/x-www-form-urlencoded"
    )
    assert_error_shape(response, 415)


def test_10000_query_parameters_are_400(portfolio):
    query = "&".join(f"p{n}=1" for n in range(10_000))
    response = portfolio.client("pmo").get(f"{API}initiatives/?{query}")
    assert_error_shape(response)


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\udc00y", "\\ud83e"])
def test_an_unpaired_surrogate_in_json_is_400(portfolio, escape):
    """`"\\ud800"` decoded to a string no database text holds: the write was a 500."""
    before = db_state()
    raw = ('{"name": "Bot", "kind": "chatbot", "summary": "' + escape + '"}').encode()
    for method, path in (("PUT", "initiatives/sync/jira/S-1/"), ("POST", "initiatives/")):
        response = portfolio.client("pmo").generic(
            method, API + path, raw, content_type="application/json"
        )
        body = assert_error_shape(response)
        assert body["errors"][0]["code"] == "parse_error"
    assert db_state() == before


def test_a_paired_surrogate_escape_is_an_ordinary_character(portfolio):
    raw = b'{"name": "Bot \\ud83e\\udd16", "kind": "chatbot"}'
    response = portfolio.client("pmo").generic(
        "POST", f"{API}initiatives/", raw, content_type="application/json"
    )
    assert response.status_code == 201, response.content[:300]
    assert response.json()["name"] == "Bot \U0001f916"
