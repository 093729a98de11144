"""Builders shared by the API tests: a crafted portfolio, users per role, API clients.

Plain functions (no fixtures), so each test module declares the fixtures it needs; this
module holds no tests.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from rest_framework.test import APIClient

from registry import choices, permissions
from registry.models import Dependency, Initiative, Note, ReviewDecision
from registry.services import lifecycle
from registry.services.tokens import ApiToken, api_token_create
from tests import factories

API = "/api/v1/"


def api_client(user: Any = None, *, token: str | None = None) -> APIClient:
    """A client logged in by session (user), by `Authorization: Token` (token), or anonymous."""
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    elif user is not None:
        client.force_login(user)
    return client


def error_attrs(response: Any) -> list[str | None]:
    return [error["attr"] for error in response.json()["errors"]]


def error_codes(response: Any) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def keys_of(response: Any) -> list[str]:
    return [row["key"] for row in response.json()["results"]]


def make_user(username: str, *groups: str) -> Any:
    """A user of these roles; no password (API clients log in with force_login or a token,
    and hashing one costs half a second)."""
    user = get_user_model().objects.create(username=username, email=f"{username}@example.com")
    user.groups.set(Group.objects.filter(name__in=groups))
    return user


@dataclass
class Portfolio:
    """A small portfolio with one initiative per situation the API must tell apart."""

    users: dict[str, Any] = field(default_factory=dict)
    people: dict[str, Any] = field(default_factory=dict)
    departments: dict[str, Any] = field(default_factory=dict)
    systems: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, Any] = field(default_factory=dict)
    goals: dict[str, Any] = field(default_factory=dict)
    initiatives: dict[str, Initiative] = field(default_factory=dict)
    tokens: dict[str, tuple[ApiToken, str]] = field(default_factory=dict)
    vision: Any = None
    old_vision: Any = None

    def key(self, name: str) -> str:
        return self.initiatives[name].key

    def keys(self, *names: str) -> list[str]:
        return sorted(self.key(name) for name in names)

    def client(self, role: str) -> APIClient:
        """anonymous, pmo, viewer, contributor, teamie (team of the confidential one),
        integration (token of source jira), norole (logged in without a role).
        """
        if role == "anonymous":
            return api_client()
        if role == "integration":
            return api_client(token=self.tokens["jira"][1])
        return api_client(self.users[role])


def make_portfolio() -> Portfolio:
    cache.clear()  # throttle buckets
    p = Portfolio()
    p.users = {
        "pmo": make_user("api-pmo", permissions.PMO),
        "viewer": make_user("api-viewer", permissions.VIEWER),
        "contributor": make_user("api-carol", permissions.CONTRIBUTOR),
        "teamie": make_user("api-teamie", permissions.VIEWER),
        "integration": make_user("api-jira", permissions.INTEGRATION),
        "norole": make_user("api-norole"),
    }
    dept = factories.DepartmentFactory
    p.departments = {
        "service": dept(slug="service", name="Customer service"),
        "marketing": dept(
            slug="marketing", name="Marketing", function=choices.DepartmentFunction.MARKETING
        ),
        "it": dept(slug="it", name="IT", function=choices.DepartmentFunction.IT),
    }
    person = factories.PersonFactory
    p.people = {
        "carol": person(
            name="Carol Owner",
            email="carol@example.com",
            department=p.departments["service"],
            user=p.users["contributor"],
        ),
        "mark": person(
            name="Mark Eting", email="mark@example.com", department=p.departments["marketing"]
        ),
        "ivy": person(name="Ivy Tee", email="ivy@example.com", department=p.departments["it"]),
        "tim": person(
            name="Tim Member",
            email="tim@example.com",
            department=p.departments["service"],
            user=p.users["teamie"],
        ),
    }
    p.systems = {
        "crm": factories.SystemFactory(slug="crm", name="CRM"),
        "cdp": factories.SystemFactory(slug="cdp", name="CDP", category=choices.SystemCategory.CDP),
    }
    p.tags = {
        "gdpr": factories.TagFactory(name="gdpr"),
        "quick": factories.TagFactory(name="quick-win"),
    }
    p.vision = factories.VisionFactory(title="Effortless service")
    p.old_vision = factories.VisionFactory(title="Old vision", status=choices.VisionStatus.RETIRED)
    p.goals = {
        "nps": factories.GoalFactory(
            vision=p.vision, code="G-NPS", title="Raise NPS", theme="loyalty"
        ),
        "aht": factories.GoalFactory(
            vision=p.vision,
            code="G-AHT",
            title="Cut handling time",
            theme="efficiency",
            metric=choices.Metric.AHT,
            unit="seconds",
            direction=choices.Direction.DECREASE,
            baseline=Decimal("300"),
            target=Decimal("200"),
        ),
        "old": factories.GoalFactory(vision=p.old_vision, code="G-OLD", title="Old goal"),
    }
    make = factories.InitiativeFactory
    chat = make(
        name="Billing chatbot",
        summary="Answers billing questions in the chat.",
        kind=choices.Kind.CHATBOT,
        stage=choices.Stage.PILOT,
        owner=p.people["carol"],
        lead_department=p.departments["service"],
        touchpoints=[choices.Touchpoint.CHAT, choices.Touchpoint.WEB],
        journey_stages=[choices.JourneyStage.SUPPORT],
        customer_segments=["retail"],
        autonomy=choices.Autonomy.HUMAN_ON_THE_LOOP,
        risk_tier=choices.RiskTier.LIMITED,
        budget_planned=Decimal("100000"),
        start_date=datetime.date(2026, 1, 1),
        target_date=datetime.date(2026, 12, 31),
        hypothesis="Customers prefer instant answers.",
        success_criteria="30% of billing chats resolved without an agent.",
    )
    chat.departments.set([p.departments["marketing"]])
    chat.systems.set([p.systems["crm"]])
    chat.tags.set([p.tags["gdpr"]])
    factories.AlignmentFactory(initiative=chat, goal=p.goals["nps"], strength=3, is_primary=True)
    factories.TeamRoleFactory(initiative=chat, person=p.people["mark"], role="consulted")

    nbo = make(
        name="Next best offer",
        summary="Recommends the next offer to existing customers.",
        kind=choices.Kind.PERSONALIZATION,
        stage=choices.Stage.APPROVED,
        owner=p.people["mark"],
        lead_department=p.departments["marketing"],
        touchpoints=[choices.Touchpoint.EMAIL],
        journey_stages=[choices.JourneyStage.RENEWAL],
        interaction_mode=choices.InteractionMode.PROACTIVE,
        risk_tier=choices.RiskTier.HIGH,
        budget_planned=Decimal("50000"),
        start_date=datetime.date(2026, 10, 1),
        target_date=datetime.date(2027, 3, 31),
        source="jira",
        external_id="J-1",
    )
    nbo.systems.set([p.systems["cdp"]])
    nbo.tags.set([p.tags["quick"]])
    factories.AlignmentFactory(initiative=nbo, goal=p.goals["aht"], strength=1, is_primary=True)

    triage = make(
        name="E-mail triage",
        summary="Routes incoming e-mails to the right queue.",
        kind=choices.Kind.AUTOMATION,
        owner=p.people["ivy"],
        lead_department=p.departments["it"],
        touchpoints=[choices.Touchpoint.EMAIL],
        journey_stages=[choices.JourneyStage.SUPPORT],
        autonomy=choices.Autonomy.AUTONOMOUS,
        budget_planned=Decimal("10000"),
        start_date=datetime.date(2025, 1, 1),
        end_date=datetime.date(2025, 6, 30),
        target_date=datetime.date(2025, 6, 30),
        source="jira",
        external_id="J-2",
    )
    Dependency.objects.create(from_initiative=triage, to_initiative=chat)

    secret = make(
        name="Secret voicebot",
        summary="A confidential voicebot pilot.",
        kind=choices.Kind.VOICEBOT,
        owner=p.people["ivy"],
        lead_department=p.departments["service"],
        confidential=True,
        budget_planned=Decimal("70000"),
    )
    factories.TeamRoleFactory(initiative=secret, person=p.people["tim"], role="informed")
    factories.AlignmentFactory(initiative=secret, goal=p.goals["nps"], strength=2, is_primary=True)

    legacy = make(
        name="Legacy IVR",
        summary="Aligned only to a retired vision.",
        kind=choices.Kind.VOICEBOT,
        owner=p.people["ivy"],
        lead_department=p.departments["it"],
        budget_planned=Decimal("5000"),
    )
    factories.AlignmentFactory(initiative=legacy, goal=p.goals["old"], strength=3, is_primary=True)

    archived = make(
        name="Archived pilot",
        summary="Archived long ago.",
        owner=p.people["mark"],
        lead_department=p.departments["marketing"],
        archived_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC),
    )
    p.initiatives = {
        "chat": chat,
        "nbo": nbo,
        "triage": triage,
        "secret": secret,
        "legacy": legacy,
        "archived": archived,
    }
    for initiative in p.initiatives.values():
        initiative.refresh_from_db()
        lifecycle.record_initial_stage(initiative=initiative, actor_name="fixture")
    factories.MeasurementFactory(goal=p.goals["nps"], observed_on=datetime.date(2026, 6, 30))
    Note.objects.create(initiative=chat, author=p.users["pmo"], text="Kick-off held.")
    Note.objects.create(initiative=secret, author=p.users["pmo"], text="Secret note.")
    review = factories.ReviewFactory(vision=p.vision, period="2026-Q4")
    ReviewDecision.objects.create(
        review=review, initiative=chat, decision=choices.Decision.CONTINUE
    )
    ReviewDecision.objects.create(
        review=review, initiative=secret, decision=choices.Decision.CONTINUE
    )
    # Reference data nothing refers to, which the PMO may delete.
    dept(slug="unused", name="Unused department")
    person(name="Nobody", email="nobody@example.com", department=None)
    factories.SystemFactory(slug="erp", name="ERP", category=choices.SystemCategory.ERP)
    p.tokens["jira"] = api_token_create(
        name="jira-sync", user=p.users["integration"], source="jira"
    )
    return p


# Initiatives everyone with a role sees in the default (live) list.
PUBLIC_LIVE = ("chat", "nbo", "triage", "legacy")
