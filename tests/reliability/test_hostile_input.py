"""Hostile input, round two: what an attacker tried against a running server, each a 4xx in
the one error shape (never a 500), at the depth where it is refused.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.api.support import API, make_portfolio


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
