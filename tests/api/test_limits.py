"""Resource limits (OWASP API4) and hostile input: page size capped, body limit (413), batch
limit, throttling (429), and injection attempts, NUL bytes, huge integers, malformed dates,
emoji and 10k-character strings in `q`, `ordering`, filters and bodies — always a 4xx or a
clean round trip, never a 500.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import override_settings

from registry.models import Initiative, Tag
from registry.sync import upsert as sync
from tests.api.support import API, make_portfolio
from tests.api.test_access import db_state


@pytest.fixture
def portfolio(db):
    return make_portfolio()


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content[:400]
    body = response.json()
    assert {"type", "errors"} <= set(body)
    assert {"code", "detail", "attr"} <= set(body["errors"][0])
    return body


# --- page size, body size, batch size -------------------------------------------------------


def test_page_size_is_capped_at_500(portfolio):
    Tag.objects.bulk_create(Tag(name=f"bulk-{n:04d}") for n in range(520))
    body = portfolio.client("viewer").get(f"{API}tags/", {"page_size": 10**9}).json()
    assert len(body["results"]) == 500
    assert body["count"] == Tag.objects.count()
    assert body["next"]


def full_item(n: int) -> dict:
    """A sync item with every accepted field filled as a verbose tool would fill it."""
    text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 6  # ~340 characters
    return {
        "external_id": f"JIRA-{n:06d}",
        "name": f"Initiative {n}: conversational assistant for billing and tariff questions",
        "summary": text,
        "kind": "chatbot",
        "stage": "idea",
        "owner": {"name": f"Owner {n % 50}", "email": f"owner{n % 50}@example.com"},
        "lead_department": "service",
        "departments": ["marketing", "it"],
        "systems": ["crm", "cdp"],
        "tags": ["gdpr", "quick-win"],
        "touchpoints": ["chat", "web", "app"],
        "journey_stages": ["support", "billing"],
        "customer_segments": ["retail", "sme"],
        "interaction_mode": "reactive",
        "autonomy": "human_on_the_loop",
        "budget_planned": "125000.00",
        "budget_spent": "42000.00",
        "currency": "EUR",
        "expected_benefit": text,
        "start_date": "2026-01-01",
        "target_date": "2026-12-31",
        "risk_tier": "limited",
        "customer_facing": True,
        "uses_personal_data": True,
        "confidential": False,
        "hypothesis": text,
        "success_criteria": text,
        "learnings": text,
        "external_url": f"https://jira.example.com/browse/JIRA-{n:06d}",
        "alignments": [{"goal": "G-NPS", "strength": 3, "is_primary": True}],
    }


def test_the_body_limit_fits_a_full_sync_batch_with_room_to_spare():
    batch = {"source": "jira", "items": [full_item(n) for n in range(sync.MAX_BATCH_ITEMS)]}
    size = len(json.dumps(batch).encode())
    assert size < settings.REGISTRY_MAX_REQUEST_BYTES / 2, size
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == settings.REGISTRY_MAX_REQUEST_BYTES


def test_a_full_batch_of_5000_items_goes_through(portfolio):
    items = [full_item(n) for n in range(sync.MAX_BATCH_ITEMS)]
    response = portfolio.client("integration").post(
        f"{API}initiatives/sync/", {"source": "jira", "items": items}, format="json"
    )
    assert response.status_code == 200, response.content[:400]
    assert response.json()["counts"]["created"] == sync.MAX_BATCH_ITEMS
    assert Initiative.objects.filter(source="jira").count() == sync.MAX_BATCH_ITEMS + 2


def test_one_item_over_the_batch_limit_is_refused(portfolio):
    before = db_state()
    items = [{"external_id": f"X-{n}", "name": "x", "kind": "chatbot"} for n in range(5001)]
    response = portfolio.client("integration").post(
        f"{API}initiatives/sync/", {"source": "jira", "items": items}, format="json"
    )
    body = assert_error_shape(response, 400)
    assert body["errors"][0]["attr"] == "items"
    assert db_state() == before


@override_settings(REGISTRY_MAX_REQUEST_BYTES=2000)
@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "initiatives/sync/"), ("post", "initiatives/"), ("patch", "initiatives/{chat}/")],
)
def test_a_body_over_the_limit_is_413_and_writes_nothing(portfolio, method, path):
    before = db_state()
    body = {"source": "jira", "name": "x" * 3000, "kind": "chatbot", "items": []}
    response = getattr(portfolio.client("pmo"), method)(
        API + path.format(chat=portfolio.key("chat")), body, format="json"
    )
    error = assert_error_shape(response, 413)
    assert error["errors"][0]["code"] == "request_too_large"
    assert db_state() == before


@override_settings(REGISTRY_MAX_REQUEST_BYTES=2000)
def test_the_body_limit_also_guards_the_admin(portfolio):
    from django.test import Client

    client = Client()
    client.force_login(portfolio.users["pmo"])
    response = client.post("/admin/registry/tag/add/", {"name": "x" * 5000})
    assert response.status_code == 413
    assert not Tag.objects.filter(name__startswith="xxx").exists()


@override_settings(REGISTRY_THROTTLE_USER="5/min")
def test_throttled_requests_answer_429_with_retry_after(portfolio):
    client = portfolio.client("integration")
    statuses = [client.get(f"{API}tags/").status_code for _ in range(8)]
    assert statuses == [200] * 5 + [429] * 3
    response = client.get(f"{API}tags/")
    body = assert_error_shape(response, 429)
    assert body["errors"][0]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Another caller has a bucket of its own.
    assert portfolio.client("viewer").get(f"{API}tags/").status_code == 200


# --- hostile input --------------------------------------------------------------------------

HOSTILE = [
    "' OR 1=1 --",
    "'; DROP TABLE registry_initiative; --",
    '" OR ""="',
    "1) UNION SELECT username, password FROM auth_user --",
    "key; SELECT pg_sleep(5)",
    "%' AND 1=0 UNION SELECT NULL--",
    "\x00",
    "nul\x00byte",
    "9" * 40,
    "-99999999999999999999999999",
    "1e309",
    "NaN",
    "2026-13-45",
    "2026-02-30T25:61:00Z",
    "0000-00-00",
    "🤖🚀 émoji ✓",
    "x" * 10_000,
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "$where: 1",
    "%00",
    "\\",
    "",
]
LIST_PARAMETERS = [
    ("initiatives/", "q"),
    ("initiatives/", "ordering"),
    ("initiatives/", "stage"),
    ("initiatives/", "owner"),
    ("initiatives/", "department"),
    ("initiatives/", "goal"),
    ("initiatives/", "active_in"),
    ("initiatives/", "updated_since"),
    ("initiatives/", "depends_on"),
    ("initiatives/", "aligned"),
    ("initiatives/", "tag"),
    ("initiatives/", "page"),
    ("initiatives/", "page_size"),
    ("initiatives/", "cursor"),
    ("goals/", "ordering"),
    ("alignments/", "strength"),
    ("notes/", "initiative"),
    ("changes/", "since"),
    ("measurements/", "observed_on"),
    ("reports/portfolio/", "vision"),
    ("reports/portfolio/", "period"),
    ("reports/alignment-matrix/", "period"),
    ("people/", "q"),
]


@pytest.mark.parametrize(("path", "param"), LIST_PARAMETERS, ids=lambda v: str(v))
def test_hostile_query_parameters_are_4xx_or_a_clean_answer(portfolio, path, param):
    client = portfolio.client("pmo")
    before = db_state()
    for value in HOSTILE:
        response = client.get(API + path, {param: value})
        assert response.status_code < 500, (param, value[:40], response.content[:300])
        if response.status_code == 200:
            response.json()
        else:
            assert response.status_code in (400, 404), (param, value[:40], response.status_code)
            assert_error_shape(response, response.status_code)
    assert db_state() == before
    assert Initiative.objects.count() == 6


@pytest.mark.parametrize(
    "value",
    ["🤖 Chat-Assistent für Tarife ✓", "Ünïcödé — “quotes” ‘and’ …", "' OR 1=1 --", "<b>x</b>"],
)
def test_unusual_text_makes_a_clean_round_trip(portfolio, value):
    client = portfolio.client("pmo")
    created = client.post(f"{API}initiatives/", {"name": value, "kind": "chatbot"}, format="json")
    assert created.status_code == 201, created.content[:300]
    fetched = client.get(created.json()["url"]).json()
    assert fetched["name"] == value
    found = client.get(f"{API}initiatives/", {"q": value}).status_code
    assert found == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "x" * 10_000),
        ("name", "nul\x00byte"),
        ("summary", "nul\x00byte"),
        ("budget_planned", "9" * 40),
        ("budget_planned", 10**30),
        ("budget_planned", "-1"),
        ("budget_planned", "NaN"),
        ("start_date", "2026-13-45"),
        ("start_date", 20260101),
        ("owner", 2**70),
        ("owner", "' OR 1=1 --"),
        ("lead_department", {"slug": {"$ne": None}}),
        ("touchpoints", ["web", "\x00"]),
        ("tags", ["gdpr"] * 1000),
        ("customer_segments", ["x" * 10_000]),
        ("kind", "🤖"),
    ],
    ids=lambda v: str(v)[:30],
)
def test_hostile_bodies_are_refused_without_a_500(portfolio, field, value):
    before = db_state()
    client = portfolio.client("pmo")
    body = {"name": "Hostile", "kind": "chatbot", field: value}
    response = client.post(f"{API}initiatives/", body, format="json")
    assert response.status_code in (201, 400), (field, response.content[:300])
    if response.status_code == 400:
        assert_error_shape(response, 400)
        assert db_state() == before
    patch = client.patch(
        f"{API}initiatives/{portfolio.key('chat')}/", {field: value}, format="json"
    )
    assert patch.status_code in (200, 400), (field, patch.content[:300])
    sync_put = portfolio.client("integration").put(
        f"{API}initiatives/sync/jira/H-1/", body, format="json"
    )
    assert sync_put.status_code in (200, 201, 400), (field, sync_put.content[:300])


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": "x", "kind": "chatbot"',
        b"\x00\x01\x02",
        b'{"name": "\\u0000"}',
        b"[]" * 10,
        b"1e999",
    ],
)
def test_malformed_json_is_400(portfolio, raw):
    response = portfolio.client("pmo").generic(
        "POST", f"{API}initiatives/", raw, content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]
    assert_error_shape(response, 400)


def test_huge_integer_ids_in_urls_are_404(portfolio):
    client = portfolio.client("pmo")
    for path in ("alignments/", "notes/", "people/", "review-decisions/", "measurements/"):
        response = client.get(f"{API}{path}{10**30}/")
        assert response.status_code == 404, (path, response.content[:200])
        assert client.delete(f"{API}{path}{2**63}/").status_code in (403, 404, 405)


def test_decimal_budget_keeps_its_precision(portfolio):
    client = portfolio.client("pmo")
    response = client.patch(
        f"{API}initiatives/{portfolio.key('chat')}/",
        {"budget_planned": "123456789012.34"},
        format="json",
    )
    assert response.status_code == 200, response.content[:300]
    assert Initiative.objects.get(key=portfolio.key("chat")).budget_planned == Decimal(
        "123456789012.34"
    )
