"""The canary crawl: a confidential initiative whose every text holds a canary, then every page,
export, feed and history a viewer, a contributor outside its team and an integration can
reach — and none of them may show a canary. Then the initiative is hard-deleted by a
superuser and everything is crawled again.

Visibility is decided once (`registry.selectors.visibility`); this crawl is how we know no
surface went around it: admin changelists, change forms of related objects, inlines, add
forms posted with the hidden initiative's primary key, autocomplete, board pages, every API
list, detail, history, report, export and feed.
"""

from __future__ import annotations

import datetime
import io
import re
import zipfile
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from registry import choices
from registry.api.reports import REPORTS
from registry.models import (
    Alignment,
    Dependency,
    Initiative,
    Note,
    Review,
    ReviewDecision,
    StageChange,
    TeamRole,
)
from registry.services import lifecycle
from tests import factories
from tests.api.support import make_portfolio

pytestmark = pytest.mark.django_db

CANARY = "zqxcanary"
API = "/api/v1/"
ROLES = ("viewer", "contributor", "integration")
BUDGET = Decimal("987654.32")


def canaried(tag: str) -> str:
    return f"{CANARY}-{tag}-{CANARY}"


def make_secret(p: Any, tag: str, *, public: Initiative) -> Initiative:
    """A confidential initiative whose every text field, note, dependency, team role and
    alignment rationale holds a canary."""
    secret = factories.InitiativeFactory(
        name=canaried(f"{tag}-name"),
        summary=canaried(f"{tag}-summary"),
        kind=choices.Kind.CHATBOT,
        owner=p.people["ivy"],
        lead_department=p.departments["it"],
        touchpoints=[choices.Touchpoint.CHAT],
        journey_stages=[choices.JourneyStage.SUPPORT],
        customer_segments=[canaried(f"{tag}-segment")],
        hypothesis=canaried(f"{tag}-hypothesis"),
        success_criteria=canaried(f"{tag}-criteria"),
        learnings=canaried(f"{tag}-learnings"),
        expected_benefit=canaried(f"{tag}-benefit"),
        budget_planned=BUDGET,
        currency="EUR",
        source="jira",
        external_id=canaried(f"{tag}-external-id"),
        external_url=f"https://jira.example.com/{CANARY}-{tag}",
        confidential=True,
    )
    secret.refresh_from_db()
    lifecycle.record_initial_stage(initiative=secret, actor_name="fixture", note=canaried(tag))
    Alignment.objects.create(
        initiative=secret,
        goal=p.goals["nps"],
        strength=3,
        is_primary=True,
        rationale=canaried(f"{tag}-rationale"),
    )
    TeamRole.objects.create(initiative=secret, person=p.people["mark"], role="consulted")
    Note.objects.create(initiative=secret, author=p.users["pmo"], text=canaried(f"{tag}-note"))
    Dependency.objects.create(
        from_initiative=public, to_initiative=secret, note=canaried(f"{tag}-needs-it")
    )
    Dependency.objects.create(
        from_initiative=secret,
        to_initiative=p.initiatives["nbo"],
        note=canaried(f"{tag}-it-needs"),
    )
    secret.tags.set([p.tags["gdpr"]])
    return secret


@pytest.fixture
def crawl(db):
    p = make_portfolio()
    for role in ("viewer", "contributor", "pmo"):
        user = p.users[role]
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    kept = make_secret(p, "kept", public=p.initiatives["chat"])
    doomed = make_secret(p, "doomed", public=p.initiatives["triage"])
    # A closed review whose decision on the kept one froze its budget and owner.
    review = Review.objects.get(period="2026-Q4")
    ReviewDecision.objects.create(
        review=review,
        initiative=kept,
        decision=choices.Decision.PAUSE,
        rationale=canaried("kept-decision"),
        snapshot={"stage": "pilot", "budget_planned": str(BUDGET), "owner": "Ivy Tee"},
    )
    closed = Review.objects.create(vision=p.vision, period="2026-Q3", summary="Closed quarter")
    ReviewDecision.objects.create(
        review=closed,
        initiative=kept,
        decision=choices.Decision.CONTINUE,
        rationale=canaried("kept-closed-decision"),
        snapshot={"stage": "idea", "budget_planned": str(BUDGET), "owner": "Ivy Tee"},
    )
    ReviewDecision.objects.create(
        review=closed, initiative=p.initiatives["chat"], decision=choices.Decision.SCALE
    )
    closed.status = choices.ReviewStatus.CLOSED
    closed.closed_at = datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    closed.save()
    p.initiatives.update(kept=kept, doomed=doomed)
    return p


# --- what a leak looks like ---------------------------------------------------------------------


def secrets_of(p: Any) -> list[re.Pattern]:
    keys = [p.initiatives[name].key for name in ("kept", "doomed")]
    return [
        re.compile(CANARY, re.IGNORECASE),
        re.compile("987[.,\u202f\u00a0]?654"),
        *(re.compile(rf"\b{re.escape(key)}\b") for key in keys),
    ]


def text_of(response: Any) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content[:2] == b"PK":  # XLSX: the shared strings and sheets of the workbook
        with zipfile.ZipFile(io.BytesIO(content)) as book:
            return " ".join(
                book.read(name).decode("utf-8", "replace")
                for name in book.namelist()
                if name.endswith(".xml")
            )
    return content.decode("utf-8", "replace")


class Crawler:
    def __init__(self, p: Any, role: str) -> None:
        self.p, self.role = p, role
        self.patterns = secrets_of(p)
        self.leaks: list[str] = []
        self.visited = 0
        if role == "integration":
            self.client = Client(HTTP_AUTHORIZATION=f"Token {p.tokens['jira'][1]}")
        else:
            self.client = Client()
            self.client.force_login(p.users[role])

    def check(self, method: str, url: str, response: Any, sent: dict) -> Any:
        self.visited += 1
        assert response.status_code < 500, f"{method} {url}: {response.status_code}"
        body = text_of(response)
        # What the requester sent may come back (a search box, an error naming the unknown
        # key it asked for): that is an echo, not a leak.
        for value in sorted(map(str, sent.values()), key=len, reverse=True):
            for form in {value, quote_plus(value), quote(value)}:
                body = body.replace(form, "")
        for pattern in self.patterns:
            found = pattern.search(body)
            if found:
                start = max(found.start() - 60, 0)
                self.leaks.append(f"{self.role} {method} {url}: …{body[start : found.end() + 60]}…")
        return response

    def get(self, url: str, data: dict | None = None) -> Any:
        sent = dict(data or {})
        sent.update(parse_qsl(urlsplit(url).query))
        return self.check("GET", url, self.client.get(url, data or {}), sent)

    def post(self, url: str, data: dict) -> Any:
        return self.check("POST", url, self.client.post(url, data), {})


# --- the surfaces -------------------------------------------------------------------------------


def crawl_api(crawler: Crawler, pmo: Client) -> None:
    lists = [
        "visions", "goals", "measurements", "departments", "people", "systems", "tags",
        "initiatives", "alignments", "team-roles", "dependencies", "notes", "stage-changes",
        "reviews", "review-decisions", "saved-views",
    ]  # fmt: skip
    feed = {"updated_since": "2000-01-01T00:00:00Z", "include_archived": "true"}
    for name in lists:
        url = f"{API}{name}/"
        crawler.get(url, {"page_size": 500})
        if name in ("initiatives", "goals", "alignments"):
            crawler.get(url, feed)
        if name == "initiatives":
            crawler.get(url, {"format": "csv"})
            crawler.get(url, {"q": CANARY})
            for value in ("kept", "doomed"):
                crawler.get(url, {"depends_on": crawler.p.initiatives[value].key})
        # Every object the PMO sees, at its own URL (hidden ones must be a plain 404).
        for row in pmo.get(url, {"page_size": 500}).json().get("results", []):
            if isinstance(row, dict) and row.get("url"):
                crawler.get(row["url"])
                if name == "initiatives":
                    crawler.get(f"{row['url']}history/", {"page_size": 500})
                if name == "reviews":
                    crawler.get(f"{row['url']}initiatives/", {"page_size": 500})
                    crawler.get(f"{row['url']}compare/")
    for key in ("kept", "doomed"):
        crawler.get(f"{API}initiatives/{crawler.p.initiatives[key].key}/history/")
    for report in REPORTS:
        crawler.get(f"{API}reports/{report}/")
        crawler.get(f"{API}reports/{report}/", {"format": "csv"})
    crawler.get(f"{API}initiatives/export/", {"format": "csv"})
    crawler.get(f"{API}initiatives/export/", {"format": "xlsx"})
    changes: str | None = f"{API}changes/?page_size=500"
    while changes:
        changes = crawler.get(changes).json().get("next")
    for key in ("kept", "doomed"):
        pk = crawler.p.initiatives[key].pk
        crawler.get(f"{API}changes/", {"object_id": pk})
        crawler.get(f"{API}changes/", {"initiative": crawler.p.initiatives[key].key})


def crawl_admin(crawler: Crawler, pmo: Client) -> None:
    p = crawler.p
    crawler.get(reverse("admin:index"))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        crawler.get(changelist)
        if model_admin.search_fields:
            crawler.get(changelist, {"q": CANARY})
        if opts.app_label != "registry":
            continue
        for pk in model._default_manager.values_list("pk", flat=True):
            crawler.get(reverse(f"admin:registry_{opts.model_name}_change", args=[pk]))
            crawler.get(reverse(f"admin:registry_{opts.model_name}_history", args=[pk]))
    # Autocomplete of every foreign key to an initiative, searching for the canary and keys.
    for model, field in (
        (Alignment, "initiative"),
        (TeamRole, "initiative"),
        (Note, "initiative"),
        (Dependency, "to_initiative"),
        (Dependency, "from_initiative"),
        (ReviewDecision, "initiative"),
    ):
        for term in (CANARY, p.initiatives["kept"].key, ""):
            crawler.get(
                reverse("admin:autocomplete"),
                {
                    "app_label": "registry",
                    "model_name": model._meta.model_name,
                    "field_name": field,
                    "term": term,
                },
            )
    # Add forms posted with the hidden initiative's primary key: answered like an unknown id.
    for key in ("kept", "doomed"):
        pk = str(p.initiatives[key].pk)
        posts = {
            "note": {"initiative": pk, "kind": "info", "text": "x", "at_0": "2026-01-01"},
            "alignment": {"initiative": pk, "goal": p.goals["nps"].pk, "strength": "1"},
            "teamrole": {"initiative": pk, "person": p.people["carol"].pk, "role": "informed"},
            "dependency": {"from_initiative": p.initiatives["chat"].pk, "to_initiative": pk},
            "reviewdecision": {
                "review": Review.objects.get(period="2026-Q4").pk,
                "initiative": pk,
                "decision": "stop",
            },
        }
        for model_name, data in posts.items():
            crawler.post(reverse(f"admin:registry_{model_name}_add"), data)
    # The board pages.
    crawler.get(reverse("registry_board:dashboard"))
    crawler.get(reverse("registry_board:dashboard"), {"period": "2026-Q4"})
    for review in Review.objects.all():
        for name in ("review", "review-compare", "review-summary"):
            crawler.get(reverse(f"registry_board:{name}", args=[review.pk]))
        crawler.get(reverse("registry_board:review-export-csv", args=[review.pk]))
        crawler.get(reverse("registry_board:review-export-xlsx", args=[review.pk]))
    for key in ("kept", "doomed"):
        crawler.get(
            reverse("registry_board:review", args=[Review.objects.get(period="2026-Q4").pk]),
            {"initiative": p.initiatives[key].key},
        )


def crawl_everything(p: Any) -> list[str]:
    pmo = Client()
    pmo.force_login(p.users["pmo"])
    leaks = []
    for role in ROLES:
        crawler = Crawler(p, role)
        crawl_api(crawler, pmo)
        if role != "integration":
            crawl_admin(crawler, pmo)
        assert crawler.visited > 100, role
        leaks += crawler.leaks
    return leaks


def test_the_pmo_sees_the_canaries_so_the_crawl_can_find_them(crawl):
    crawler = Crawler(crawl, "pmo")
    crawler.get(f"{API}initiatives/{crawl.initiatives['kept'].key}/")
    crawler.get(
        reverse("admin:registry_review_change", args=[Review.objects.get(period="2026-Q3").pk])
    )
    crawler.get(f"{API}changes/", {"object_id": crawl.initiatives["doomed"].pk})
    assert len(crawler.leaks) >= 3


def test_no_canary_reaches_a_viewer_a_contributor_or_an_integration(crawl):
    leaks = crawl_everything(crawl)
    assert not leaks, "\n".join(leaks[:30])


def test_no_canary_after_the_confidential_initiative_is_hard_deleted(crawl):
    superuser = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    admin_client = Client()
    admin_client.force_login(superuser)
    doomed = crawl.initiatives["doomed"]
    deleted = admin_client.post(
        reverse("admin:registry_initiative_delete", args=[doomed.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 302
    assert not Initiative.objects.filter(pk=doomed.pk).exists()
    assert StageChange.objects.filter(initiative_id=doomed.pk).count() == 0

    leaks = crawl_everything(crawl)
    assert not leaks, "\n".join(leaks[:30])
