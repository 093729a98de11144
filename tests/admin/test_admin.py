"""The admin as the PMO's daily tool: every page, the initiative changelist and its filters,
the lifecycle control, archiving, and named database rules shown as form errors.

Everything goes through the real admin over HTTP with real PostgreSQL (and its triggers).
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats

from registry import choices
from registry.choices import Stage, VisionStatus
from registry.models import (
    Alignment,
    Department,
    Dependency,
    Goal,
    Initiative,
    Measurement,
    Note,
    Person,
    Review,
    ReviewDecision,
    StageChange,
    System,
    Tag,
    TeamRole,
    Vision,
)
from registry.selectors import reports
from registry.services import lifecycle
from tests import factories

pytestmark = pytest.mark.django_db

BRIEF_MODELS = (
    Vision,
    Goal,
    Measurement,
    Department,
    Person,
    System,
    Tag,
    Initiative,
    Alignment,
    Dependency,
    TeamRole,
    Note,
    StageChange,
    Review,
    ReviewDecision,
)
# The domain models the registry's admin registers (tokens, webhooks and saved views have
# admins of their own, tested with them).
REGISTERED = sorted(
    (model for model, model_admin in admin.site._registry.items() if model in BRIEF_MODELS),
    key=lambda model: model._meta.model_name,
)
GATE_MESSAGE = "it needs a primary alignment to a goal of the active vision."


# --- helpers ----------------------------------------------------------------------------------


def admin_url(model: type, view: str, *args: Any) -> str:
    return reverse(f"admin:registry_{model._meta.model_name}_{view}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def shown_keys(response) -> set[str]:
    return {obj.key for obj in response.context["cl"].result_list}


def form_data(response) -> dict[str, Any]:
    """The POST a browser would send for the change form as rendered (forms and inlines)."""
    data: dict[str, Any] = {}

    def add(form: forms.BaseForm) -> None:
        for name, field in form.fields.items():
            bound = form[name]
            value = bound.value()
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                if value:
                    data[bound.html_name] = "on"
            elif isinstance(widget, forms.MultiWidget):
                parts = widget.decompress(value) if value else [None] * len(widget.widgets)
                for suffix, part in zip(widget.widgets_names, parts, strict=True):
                    data[bound.html_name + suffix] = "" if part is None else str(part)
            elif isinstance(field, forms.MultipleChoiceField | forms.ModelMultipleChoiceField):
                data[bound.html_name] = [str(item) for item in value or ()]
            else:
                data[bound.html_name] = "" if value is None else str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def add_inline_row(data: dict[str, Any], prefix: str, **fields: Any) -> None:
    """Fill the next empty form of an inline formset, as clicking "Add another" does."""
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    for name, value in fields.items():
        if value is True:
            data[f"{prefix}-{index}-{name}"] = "on"
        elif value is not False:
            data[f"{prefix}-{index}-{name}"] = str(value)


def errors_of(response) -> list[Any]:
    """Every form and inline error on a re-rendered change form, for assertion messages."""
    if response.context is None:
        return []
    errors: list[Any] = [response.context["adminform"].form.errors]
    errors += [inline.formset.errors for inline in response.context["inline_admin_formsets"]]
    errors += [
        inline.formset.non_form_errors() for inline in response.context["inline_admin_formsets"]
    ]
    return errors


def inline_errors(response, prefix: str) -> list[str]:
    for inline in response.context["inline_admin_formsets"]:
        if inline.formset.prefix == prefix:
            return [str(error) for error in inline.formset.non_form_errors()]
    raise AssertionError(f"no inline {prefix}")


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- data -------------------------------------------------------------------------------------

_periods = itertools.count()


def next_period() -> str:
    n = next(_periods)
    return f"{2030 + n // 4}-Q{n % 4 + 1}"


def the_active_vision() -> Vision:
    return Vision.objects.active().first() or factories.VisionFactory()


def goal() -> Goal:
    return factories.GoalFactory(vision=the_active_vision())


BUILDERS: dict[type, Callable[[], Any]] = {
    Vision: lambda: factories.VisionFactory(status=VisionStatus.DRAFT),
    Goal: goal,
    Measurement: lambda: factories.MeasurementFactory(goal=goal()),
    Department: factories.DepartmentFactory,
    Person: factories.PersonFactory,
    System: lambda: factories.SystemFactory(owner_department=factories.DepartmentFactory()),
    Tag: factories.TagFactory,
    Initiative: lambda: factories.AlignmentFactory(goal=goal()).initiative,
    Alignment: lambda: factories.AlignmentFactory(goal=goal()),
    Dependency: lambda: Dependency.objects.create(
        from_initiative=factories.InitiativeFactory(), to_initiative=factories.InitiativeFactory()
    ),
    TeamRole: factories.TeamRoleFactory,
    Note: lambda: Note.objects.create(
        initiative=factories.InitiativeFactory(), text="Agreed with legal.", kind="decision"
    ),
    StageChange: lambda: lifecycle.record_initial_stage(
        initiative=factories.InitiativeFactory(), actor_name="jira"
    ),
    Review: lambda: factories.ReviewFactory(vision=the_active_vision(), period=next_period()),
    ReviewDecision: lambda: ReviewDecision.objects.create(
        review=factories.ReviewFactory(vision=the_active_vision(), period=next_period()),
        initiative=factories.InitiativeFactory(),
        decision=choices.Decision.CONTINUE,
        snapshot={"stage": "idea", "alignment_level": "none"},
    ),
}


@pytest.fixture
def viewer_client(viewer_user) -> Client:
    return login(viewer_user)


@pytest.fixture
def contributor_client(contributor_user) -> Client:
    return login(contributor_user)


@pytest.fixture
def superuser_client() -> Client:
    return login(factories.UserFactory(username="root", is_staff=True, is_superuser=True))


# --- every page -------------------------------------------------------------------------------


def test_every_model_of_the_registry_is_in_the_admin():
    assert set(BRIEF_MODELS) <= set(REGISTERED)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.model_name)
def test_changelist_add_and_change_pages_render_for_the_pmo(pmo_client, model):
    obj = BUILDERS[model]()

    changelist = pmo_client.get(admin_url(model, "changelist"))
    assert changelist.status_code == 200
    assert admin_url(model, "change", obj.pk) in changelist.content.decode()

    change = pmo_client.get(admin_url(model, "change", obj.pk))
    assert change.status_code == 200

    add = pmo_client.get(admin_url(model, "add"))
    model_admin = admin.site._registry[model]
    expected = 200 if model_admin.has_add_permission(add.wsgi_request) else 403
    assert add.status_code == expected


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.model_name)
def test_anonymous_users_are_sent_to_the_login_page(client, model):
    response = client.get(admin_url(model, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("model", REGISTERED, ids=lambda m: m._meta.model_name)
def test_changelists_run_a_constant_number_of_queries(pmo_client, model):
    url = admin_url(model, "changelist")

    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert pmo_client.get(url).status_code == 200
        return len(captured)

    for _ in range(2):
        BUILDERS[model]()
    few = queries_for_page()
    for _ in range(6):
        BUILDERS[model]()
    assert queries_for_page() == few


def test_initiative_changelist_queries_are_the_same_for_5_and_50(pmo_client, active_vision):
    goals = [factories.GoalFactory(vision=active_vision) for _ in range(3)]
    url = admin_url(Initiative, "changelist")

    def build(n: int) -> None:
        for i in range(n):
            initiative = factories.InitiativeFactory(touchpoints=["chat"])
            if i % 3:
                factories.AlignmentFactory(
                    initiative=initiative, goal=goals[i % 3], strength=1 + i % 3
                )

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = pmo_client.get(url)
        return len(captured), len(response.context["cl"].result_list)

    build(5)
    few, shown = count()
    assert shown == 5
    build(45)
    many, shown = count()
    assert shown == 50
    assert many == few


# --- the initiative changelist ----------------------------------------------------------------


@pytest.fixture
def portfolio(active_vision):
    """Initiatives at every alignment level, one archived, one aligned only to a retired goal."""
    nps = factories.GoalFactory(vision=active_vision, code="G-NPS")
    aht = factories.GoalFactory(vision=active_vision, code="G-AHT")
    old = factories.GoalFactory(
        vision=factories.VisionFactory(status=VisionStatus.RETIRED), code="G-OLD"
    )
    made = {
        "none": factories.InitiativeFactory(name="Unaligned bot", touchpoints=["web"]),
        "weak": factories.InitiativeFactory(name="Weak bot", touchpoints=["chat"]),
        "moderate": factories.InitiativeFactory(name="Moderate bot"),
        "strong": factories.InitiativeFactory(name="Strong bot", touchpoints=["chat", "app"]),
        "retired_only": factories.InitiativeFactory(name="Old vision bot"),
        "archived": factories.InitiativeFactory(name="Archived bot"),
    }
    factories.AlignmentFactory(initiative=made["weak"], goal=aht, strength=1)
    factories.AlignmentFactory(initiative=made["moderate"], goal=nps, strength=2)
    factories.AlignmentFactory(initiative=made["strong"], goal=nps, strength=3)
    factories.AlignmentFactory(initiative=made["strong"], goal=aht, strength=1, is_primary=False)
    factories.AlignmentFactory(initiative=made["retired_only"], goal=old, strength=3)
    Initiative.objects.filter(pk=made["archived"].pk).update(
        archived_at=datetime.datetime(2026, 5, 1, tzinfo=datetime.UTC)
    )
    for initiative in made.values():
        initiative.refresh_from_db()
    return {"goals": {"nps": nps, "aht": aht, "old": old}, **made}


def test_changelist_shows_columns_and_coloured_alignment_badges(pmo_client, portfolio):
    response = pmo_client.get(admin_url(Initiative, "changelist"))
    html = response.content.decode()

    assert "registry/admin.css" in html
    for level, label in (
        ("none", "None"),
        ("weak", "Weak"),
        ("moderate", "Moderate"),
        ("strong", "Strong"),
    ):
        assert f'<span class="registry-badge registry-badge--{level}">{label}</span>' in html
    strong = portfolio["strong"]
    row = next(r for r in html.split("<tr") if strong.key in r)
    assert "Strong bot" in row
    assert "Chatbot / virtual agent" in row
    assert "Idea" in row
    assert strong.owner.name in row
    assert strong.lead_department.name in row
    assert ">G-NPS</a>" in row  # the primary goal, not the weaker secondary one
    assert "registry-badge--strong" in row


def test_badge_stylesheet_is_served_without_a_cdn(pmo_client):
    response = pmo_client.get("/static/registry/admin.css")
    assert response.status_code == 200
    css = b"".join(response.streaming_content).decode()
    for level in ("none", "weak", "moderate", "strong"):
        assert f".registry-badge--{level}" in css
    assert "http" not in css


def test_alignment_none_filter_is_two_clicks_from_the_index(pmo_client, portfolio):
    index = pmo_client.get(reverse("admin:index")).content.decode()
    changelist_url = admin_url(Initiative, "changelist")
    assert f'href="{changelist_url}"' in index

    changelist = pmo_client.get(changelist_url).content.decode()
    assert 'href="?alignment=none"' in changelist

    response = pmo_client.get(changelist_url + "?alignment=none")
    # Unaligned, and aligned only to a retired vision's goal; the archived one stays hidden.
    assert shown_keys(response) == {portfolio["none"].key, portfolio["retired_only"].key}


@pytest.mark.parametrize(
    ("level", "expected"), [("weak", {"weak"}), ("moderate", {"moderate"}), ("strong", {"strong"})]
)
def test_alignment_level_filter(pmo_client, portfolio, level, expected):
    response = pmo_client.get(admin_url(Initiative, "changelist") + f"?alignment={level}")
    assert shown_keys(response) == {portfolio[name].key for name in expected}


def test_goal_filter_lists_initiatives_aligned_to_the_goal_at_any_strength(pmo_client, portfolio):
    aht = portfolio["goals"]["aht"]
    response = pmo_client.get(admin_url(Initiative, "changelist") + f"?goal={aht.pk}")
    assert shown_keys(response) == {portfolio["weak"].key, portfolio["strong"].key}


def test_archived_are_hidden_by_default_and_shown_on_request(pmo_client, portfolio):
    url = admin_url(Initiative, "changelist")
    archived = portfolio["archived"].key

    default = pmo_client.get(url)
    assert archived not in shown_keys(default)
    assert len(shown_keys(default)) == 5

    only_archived = pmo_client.get(url + "?archived=archived")
    assert shown_keys(only_archived) == {archived}

    everything = pmo_client.get(url + "?archived=all")
    assert len(shown_keys(everything)) == 6


def test_touchpoint_risk_and_stage_filters(pmo_client, portfolio):
    url = admin_url(Initiative, "changelist")
    chat = pmo_client.get(url + "?touchpoint=chat")
    assert shown_keys(chat) == {portfolio["weak"].key, portfolio["strong"].key}

    Initiative.objects.filter(pk=portfolio["moderate"].pk).update(
        risk_tier=choices.RiskTier.HIGH, stage=Stage.PROPOSED
    )
    high = pmo_client.get(url + "?risk_tier__exact=high")
    assert shown_keys(high) == {portfolio["moderate"].key}
    proposed = pmo_client.get(url + "?stage__exact=proposed")
    assert shown_keys(proposed) == {portfolio["moderate"].key}


def test_filter_counts_can_be_shown(pmo_client, portfolio):
    response = pmo_client.get(admin_url(Initiative, "changelist") + "?_facets=True")
    assert response.status_code == 200
    assert 'href="?_facets=True&amp;alignment=none"' in response.content.decode()


def test_archived_view_adds_an_archived_at_column(pmo_client, portfolio):
    url = admin_url(Initiative, "changelist")
    assert "column-archived_at" not in pmo_client.get(url).content.decode()
    assert "column-archived_at" in pmo_client.get(url + "?archived=all").content.decode()


def test_bad_filter_values_do_not_break_the_changelist(pmo_client, portfolio):
    url = admin_url(Initiative, "changelist")
    for query in ("?alignment=great", "?goal=abc", "?touchpoint=fax", "?archived=maybe"):
        response = pmo_client.get(url + query)
        assert response.status_code == 302
        assert "e=1" in response["Location"]


def test_search_by_key_name_and_owner(pmo_client, portfolio):
    url = admin_url(Initiative, "changelist")
    weak = portfolio["weak"]
    # A name no other owner's contains ("Person 28" would also match "Person 284").
    weak.owner.name = "Wanda Weakling"
    weak.owner.save(update_fields=["name"])
    assert shown_keys(pmo_client.get(url, {"q": weak.key})) == {weak.key}
    assert shown_keys(pmo_client.get(url, {"q": "Moderate bot"})) == {portfolio["moderate"].key}
    assert shown_keys(pmo_client.get(url, {"q": weak.owner.email})) == {weak.key}
    assert shown_keys(pmo_client.get(url, {"q": weak.owner.name})) == {weak.key}


# --- the initiative change form ---------------------------------------------------------------


def test_change_form_shows_derived_values_and_history(pmo_client, active_vision):
    initiative = factories.InitiativeFactory(stage=Stage.PILOT, source="jira", external_id="J-1")
    lifecycle.record_initial_stage(initiative=initiative, actor_name="jira", imported_from="jira")
    factories.AlignmentFactory(
        initiative=initiative, goal=factories.GoalFactory(vision=active_vision), strength=2
    )

    response = pmo_client.get(admin_url(Initiative, "change", initiative.pk))
    html = response.content.decode()

    assert initiative.key in html
    assert "registry-badge--moderate" in html
    # Imported at pilot without the experiment's evidence: the gaps are listed.
    assert "<li>a hypothesis</li>" in html
    assert "<li>success criteria</li>" in html
    assert "a primary alignment" not in re.sub(r"<option[^>]*>[^<]*</option>", "", html)
    # stage and version are shown, never editable
    form = response.context["adminform"].form
    assert "stage" not in form.fields
    assert "version" not in form.fields
    assert "key" not in form.fields
    # the stage history inline is read-only
    history = next(
        inline
        for inline in response.context["inline_admin_formsets"]
        if inline.formset.model is StageChange
    )
    assert not history.has_add_permission
    assert not history.has_change_permission
    assert not history.has_delete_permission
    assert "jira" in html


def test_saving_bumps_the_version_and_records_the_editor(pmo_client, pmo_user):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    data["name"] = "Billing assistant"
    data["touchpoints"] = ["chat", "app"]

    response = pmo_client.post(url, data)

    assert response.status_code == 302, errors_of(response)
    initiative.refresh_from_db()
    assert initiative.name == "Billing assistant"
    assert initiative.touchpoints == ["chat", "app"]
    assert initiative.version == 2
    assert initiative.updated_by == pmo_user
    assert initiative.stage == Stage.IDEA


def test_a_stale_form_does_not_overwrite_a_newer_edit(pmo_client):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    Initiative.objects.filter(pk=initiative.pk).update(name="Renamed elsewhere", version=5)
    data["name"] = "My rename"

    response = pmo_client.post(url, data)

    assert response.status_code == 200
    assert "Someone changed this initiative while you were editing it" in (
        response.content.decode()
    )
    initiative.refresh_from_db()
    assert initiative.name == "Renamed elsewhere"
    assert initiative.version == 5


def test_adding_an_initiative_records_its_creator_and_first_stage(pmo_client, pmo_user):
    owner = factories.PersonFactory()
    data = form_data(pmo_client.get(admin_url(Initiative, "add")))
    data.update(
        name="Invoice explainer",
        kind=choices.Kind.GENERATIVE_CONTENT,
        summary="Explains invoices in plain words.",
        owner=str(owner.pk),
        lead_department=str(owner.department_id),
        currency="EUR",
    )

    response = pmo_client.post(admin_url(Initiative, "add"), data)

    assert response.status_code == 302, errors_of(response)
    initiative = Initiative.objects.get(name="Invoice explainer")
    assert re.fullmatch(r"AI-\d{4,}", initiative.key)
    assert initiative.created_by == pmo_user
    assert initiative.version == 1
    first = StageChange.objects.get(initiative=initiative)
    assert (first.from_stage, first.to_stage, first.by) == ("", Stage.IDEA, pmo_user)


def test_overlaps_with_other_departments_ask_to_join_or_justify(pmo_client):
    service, marketing = factories.DepartmentFactory(), factories.DepartmentFactory()
    mine = factories.InitiativeFactory(
        name="Billing chatbot",
        lead_department=service,
        touchpoints=["chat"],
        journey_stages=["billing"],
    )
    theirs = factories.InitiativeFactory(
        name="Marketing billing bot",
        lead_department=marketing,
        touchpoints=["chat", "web"],
        journey_stages=["billing"],
    )
    other = factories.InitiativeFactory(
        name="Fleet telematics", summary="Tracks service vans.", lead_department=marketing
    )
    url = admin_url(Initiative, "change", mine.pk)

    page = pmo_client.get(url).content.decode()
    (found,) = reports.overlaps_for(mine, user=get_user_model().objects.get(username="pmo"))
    assert found["key"] == theirs.key
    score = formats.number_format(found["score"], decimal_pos=2)
    assert f"{theirs.key} · Marketing billing bot</a> ({marketing.name}) — score" in page
    assert f'data-score="{found["score"]}">{score}</span>' in page
    assert "same touchpoint: Chat (+0.00)" in page
    assert "similar name (+" in page
    assert f"{other.key} · Fleet" not in page

    response = pmo_client.post(url, form_data(pmo_client.get(url)))
    assert response.status_code == 302, errors_of(response)
    warning = next(m for m in messages_of(response) if m.startswith("Join or justify"))
    assert theirs.key in warning


def test_only_superusers_hard_delete_initiatives(pmo_client, superuser_client):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "delete", initiative.pk)

    assert pmo_client.get(url).status_code == 403
    assert pmo_client.post(url, {"post": "yes"}).status_code == 403
    assert Initiative.objects.filter(pk=initiative.pk).exists()

    assert superuser_client.post(url, {"post": "yes"}).status_code == 302
    assert not Initiative.objects.filter(pk=initiative.pk).exists()


# --- named rules as form errors ---------------------------------------------------------------


def test_a_dependency_cycle_in_the_inline_is_a_form_error(pmo_client):
    chatbot = factories.InitiativeFactory(name="Chatbot")
    crm = factories.InitiativeFactory(name="CRM integration")
    Dependency.objects.create(from_initiative=chatbot, to_initiative=crm)
    url = admin_url(Initiative, "change", crm.pk)
    data = form_data(pmo_client.get(url))
    add_inline_row(data, "dependencies", to_initiative=chatbot.pk, note="needs the bot")
    data["name"] = "CRM integration (renamed)"

    response = pmo_client.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response, "dependencies") == ["This dependency would create a cycle."]
    assert "This dependency would create a cycle." in response.content.decode()
    # Nothing of the attempt was kept: neither the edge nor the rename nor a version bump.
    assert not Dependency.objects.filter(from_initiative=crm).exists()
    crm.refresh_from_db()
    assert (crm.name, crm.version) == ("CRM integration", 1)
    # The user's input is still on the page to correct.
    assert response.context["inline_admin_formsets"][2].formset.forms[-1]["note"].value() == (
        "needs the bot"
    )


def test_a_self_dependency_in_the_inline_is_a_form_error(pmo_client):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    add_inline_row(data, "dependencies", to_initiative=initiative.pk)

    response = pmo_client.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response, "dependencies") == ["An initiative cannot depend on itself."]
    assert not Dependency.objects.exists()


def test_two_primary_alignments_are_a_form_error(pmo_client, active_vision):
    initiative = factories.InitiativeFactory()
    first, second = (factories.GoalFactory(vision=active_vision) for _ in range(2))
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    add_inline_row(data, "alignments", goal=first.pk, strength=3, is_primary=True)
    add_inline_row(data, "alignments", goal=second.pk, strength=2, is_primary=True)

    response = pmo_client.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response, "alignments") == [
        "An initiative has only one primary alignment."
    ]
    assert not Alignment.objects.filter(initiative=initiative).exists()


def test_alignments_without_a_primary_are_a_form_error(pmo_client, active_vision):
    # The deferred "has a primary" trigger fires at commit; the admin checks it before.
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    add_inline_row(
        data, "alignments", goal=factories.GoalFactory(vision=active_vision).pk, strength=2
    )

    response = pmo_client.post(url, data)

    assert response.status_code == 200
    assert inline_errors(response, "alignments") == [
        "An aligned initiative needs exactly one primary alignment."
    ]
    assert not Alignment.objects.filter(initiative=initiative).exists()


def test_the_primary_alignment_can_move_to_another_goal_in_one_save(pmo_client, active_vision):
    primary = factories.AlignmentFactory(goal=factories.GoalFactory(vision=active_vision))
    initiative = primary.initiative
    other = factories.AlignmentFactory(
        initiative=initiative,
        goal=factories.GoalFactory(vision=active_vision),
        strength=1,
        is_primary=False,
    )
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    forms_by_id = {data[f"alignments-{i}-id"]: i for i in range(2)}
    data.pop(f"alignments-{forms_by_id[str(primary.pk)]}-is_primary")
    data[f"alignments-{forms_by_id[str(other.pk)]}-is_primary"] = "on"

    response = pmo_client.post(url, data)

    assert response.status_code == 302, errors_of(response)
    assert Alignment.objects.get(initiative=initiative, is_primary=True) == other
    other.refresh_from_db()
    assert other.version == 2


def test_deleting_the_primary_of_several_alignments_is_refused_with_the_rule(
    pmo_client, active_vision
):
    primary = factories.AlignmentFactory(goal=factories.GoalFactory(vision=active_vision))
    factories.AlignmentFactory(
        initiative=primary.initiative,
        goal=factories.GoalFactory(vision=active_vision),
        is_primary=False,
    )

    response = pmo_client.post(admin_url(Alignment, "delete", primary.pk), {"post": "yes"})

    assert response.status_code == 302
    assert Alignment.objects.filter(pk=primary.pk).exists()
    assert "An aligned initiative needs exactly one primary alignment." in messages_of(response)


def test_a_rule_on_a_field_the_form_does_not_edit_is_a_form_error(pmo_client, active_vision):
    initiative = factories.InitiativeFactory(stage=Stage.APPROVED)
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    data["risk_tier"] = choices.RiskTier.PROHIBITED

    response = pmo_client.post(url, data)

    assert response.status_code == 200
    assert "An initiative of the prohibited risk tier cannot go beyond proposed." in [
        str(error) for error in response.context["adminform"].form.non_field_errors()
    ]
    initiative.refresh_from_db()
    assert initiative.risk_tier == choices.RiskTier.MINIMAL


def test_a_second_active_vision_is_a_form_error(pmo_client, active_vision):
    data = {
        "title": "Another vision",
        "statement": "Also effortless.",
        "horizon_start": "2026-01-01",
        "horizon_end": "2027-12-31",
        "status": VisionStatus.ACTIVE,
    }
    response = pmo_client.post(admin_url(Vision, "add"), data)
    assert response.status_code == 200
    assert "Another vision is already active; retire it first." in response.content.decode()
    assert Vision.objects.count() == 1


# --- the "move to stage" control --------------------------------------------------------------


def test_move_control_lists_the_next_stages_with_their_gates(pmo_client):
    initiative = factories.InitiativeFactory(stage=Stage.PROPOSED)
    response = pmo_client.get(admin_url(Initiative, "change", initiative.pk))
    form = response.context["stage_move_form"]

    assert response.context["stage_move_url"] == admin_url(Initiative, "transition", initiative.pk)
    assert form.next_stages == lifecycle.next_stages(initiative)
    html = response.content.decode()
    assert 'id="stage-move-form"' in html
    assert "Approved (needs a primary alignment to a goal of the active vision)" in html
    assert "Paused (note required)" in html


def test_save_and_move_keeps_what_was_typed_and_moves_when_the_gate_then_passes(pmo_client):
    """The finding: typing a hypothesis and success criteria, then moving to pilot, refused the
    move for a missing hypothesis and threw the typed text away."""
    initiative = factories.InitiativeFactory(stage=Stage.APPROVED)
    url = admin_url(Initiative, "change", initiative.pk)
    data = form_data(pmo_client.get(url))
    data["hypothesis"] = "Customers prefer instant answers."
    data["move-to_stage"] = "pilot"
    data["_move"] = "Save and move"

    refused = pmo_client.post(url, data)  # success criteria still missing: the gate refuses

    assert refused.status_code == 302
    initiative.refresh_from_db()
    assert initiative.hypothesis == "Customers prefer instant answers."  # kept, saved
    assert initiative.stage == Stage.APPROVED
    assert any("success criteria" in m for m in messages_of(refused))

    data = form_data(pmo_client.get(url))
    data["success_criteria"] = "30 % of chats resolved without an agent."
    data["move-to_stage"] = "pilot"
    data["_move"] = "Save and move"
    moved = pmo_client.post(url, data)

    initiative.refresh_from_db()
    assert initiative.success_criteria == "30 % of chats resolved without an agent."
    assert initiative.stage == Stage.PILOT
    assert f"{initiative.key}: Moved from Approved to Pilot." in messages_of(moved)


def test_moving_idea_to_proposed_writes_a_stage_change(pmo_client, pmo_user):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "transition", initiative.pk)

    response = pmo_client.post(url, {"to_stage": "proposed", "note": "Ready for the board"})

    assert response.status_code == 302
    assert response["Location"] == admin_url(Initiative, "change", initiative.pk)
    assert f"{initiative.key}: Moved from Idea to Proposed." in messages_of(response)
    initiative.refresh_from_db()
    assert initiative.stage == Stage.PROPOSED
    assert initiative.version == 2
    change = StageChange.objects.get(initiative=initiative)
    assert (change.from_stage, change.to_stage, change.by, change.note) == (
        Stage.IDEA,
        Stage.PROPOSED,
        pmo_user,
        "Ready for the board",
    )
    page = pmo_client.get(response["Location"]).content.decode()
    assert "Current stage: <strong>Proposed</strong>" in page


def test_moving_to_approved_without_a_primary_alignment_is_refused(pmo_client):
    initiative = factories.InitiativeFactory(stage=Stage.PROPOSED)
    url = admin_url(Initiative, "transition", initiative.pk)

    response = pmo_client.post(url, {"to_stage": "approved"}, follow=True)

    assert response.status_code == 200
    expected = f"{initiative.key} cannot move from Proposed to Approved: {GATE_MESSAGE}"
    assert response.redirect_chain == [(admin_url(Initiative, "change", initiative.pk), 302)]
    assert f'<li class="error">{expected}</li>' in response.content.decode()
    initiative.refresh_from_db()
    assert (initiative.stage, initiative.version) == (Stage.PROPOSED, 1)
    assert not StageChange.objects.filter(initiative=initiative).exists()


def test_a_move_the_table_does_not_allow_names_the_allowed_ones(pmo_client):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "transition", initiative.pk)

    response = pmo_client.post(url, {"to_stage": "production"})

    assert messages_of(response) == [
        f"{initiative.key} cannot move from Idea to Production; allowed next: "
        "Proposed, Paused, Stopped."
    ]
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA


def test_a_move_from_a_stale_page_is_refused(pmo_client):
    initiative = factories.InitiativeFactory()
    url = admin_url(Initiative, "transition", initiative.pk)
    Initiative.objects.filter(pk=initiative.pk).update(version=3)

    response = pmo_client.post(url, {"to_stage": "proposed", "version": "1"})

    assert "changed since you opened it" in messages_of(response)[0]
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA


def test_the_move_control_accepts_post_only(pmo_client):
    initiative = factories.InitiativeFactory()
    response = pmo_client.get(admin_url(Initiative, "transition", initiative.pk))
    assert response.status_code == 405


def test_the_move_control_is_csrf_protected(pmo_user):
    initiative = factories.InitiativeFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(pmo_user)

    response = client.post(
        admin_url(Initiative, "transition", initiative.pk), {"to_stage": "proposed"}
    )

    assert response.status_code == 403
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA


def test_viewers_see_no_move_control_and_cannot_move(viewer_client):
    initiative = factories.InitiativeFactory()

    page = viewer_client.get(admin_url(Initiative, "change", initiative.pk))
    assert page.status_code == 200
    assert "stage-move-form" not in page.content.decode()
    assert "stage_move_form" not in page.context

    response = viewer_client.post(
        admin_url(Initiative, "transition", initiative.pk), {"to_stage": "proposed"}
    )
    assert response.status_code == 403
    initiative.refresh_from_db()
    assert initiative.stage == Stage.IDEA
    assert not StageChange.objects.exists()


def test_contributors_move_only_initiatives_they_own(contributor_client, contributor_user):
    theirs = factories.InitiativeFactory(owner=factories.PersonFactory(user=contributor_user))
    others = factories.InitiativeFactory()

    own_page = contributor_client.get(admin_url(Initiative, "change", theirs.pk))
    assert "stage-move-form" in own_page.content.decode()
    other_page = contributor_client.get(admin_url(Initiative, "change", others.pk))
    assert "stage-move-form" not in other_page.content.decode()

    moved = contributor_client.post(
        admin_url(Initiative, "transition", theirs.pk), {"to_stage": "proposed"}
    )
    assert moved.status_code == 302
    refused = contributor_client.post(
        admin_url(Initiative, "transition", others.pk), {"to_stage": "proposed"}
    )
    assert refused.status_code == 403
    theirs.refresh_from_db()
    others.refresh_from_db()
    assert (theirs.stage, others.stage) == (Stage.PROPOSED, Stage.IDEA)


def test_contributors_align_only_initiatives_they_run(contributor_client, contributor_user):
    theirs = factories.InitiativeFactory()
    factories.TeamRoleFactory(
        initiative=theirs,
        person=factories.PersonFactory(user=contributor_user),
        role=choices.TeamRoleKind.ACCOUNTABLE,
    )
    others = factories.InitiativeFactory()
    goal_pk = goal().pk

    def add_alignment(initiative: Initiative):
        return contributor_client.post(
            admin_url(Alignment, "add"),
            {"initiative": initiative.pk, "goal": goal_pk, "strength": 2, "is_primary": "on"},
        )

    refused = add_alignment(others)
    assert refused.status_code == 200
    # The part service's refusal, word for word what the API answers.
    assert f"You may not change {others.key}." in refused.content.decode()
    assert not Alignment.objects.filter(initiative=others).exists()

    assert add_alignment(theirs).status_code == 302
    assert Alignment.objects.filter(initiative=theirs, is_primary=True).exists()

    foreign = factories.AlignmentFactory(initiative=others, goal=goal())
    url = admin_url(Alignment, "change", foreign.pk)
    assert 'name="_save"' not in contributor_client.get(url).content.decode()
    assert contributor_client.post(url, {"strength": 1}).status_code == 403


def test_confidential_initiatives_are_hidden_from_viewers(viewer_client, pmo_client):
    secret = factories.InitiativeFactory(confidential=True)
    public = factories.InitiativeFactory()
    url = admin_url(Initiative, "changelist")

    assert shown_keys(viewer_client.get(url)) == {public.key}
    assert shown_keys(pmo_client.get(url)) == {public.key, secret.key}
    assert viewer_client.get(admin_url(Initiative, "change", secret.pk)).status_code == 302


# --- archive and restore ----------------------------------------------------------------------


def test_archive_and_restore_actions(pmo_client, pmo_user):
    first, second, untouched = (factories.InitiativeFactory() for _ in range(3))
    url = admin_url(Initiative, "changelist")

    response = pmo_client.post(
        url, {"action": "archive_selected", "_selected_action": [first.pk, second.pk]}
    )

    assert response.status_code == 302
    assert "Archived 2 initiatives." in messages_of(response)
    for initiative in (first, second):
        initiative.refresh_from_db()
        assert initiative.archived_at is not None
        assert initiative.archived_by == pmo_user
        assert initiative.version == 2
    assert shown_keys(pmo_client.get(url)) == {untouched.key}

    response = pmo_client.post(
        url + "?archived=archived",
        {"action": "restore_selected", "_selected_action": [first.pk]},
    )

    assert "Restored 1 initiative." in messages_of(response)
    first.refresh_from_db()
    assert (first.archived_at, first.archived_by, first.version) == (None, None, 3)
    assert shown_keys(pmo_client.get(url)) == {untouched.key, first.key}


def test_restoring_onto_a_taken_sync_identity_is_an_error_message(pmo_client):
    archived = factories.InitiativeFactory(source="jira", external_id="CX-1")
    Initiative.objects.filter(pk=archived.pk).update(
        archived_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    )
    factories.InitiativeFactory(source="jira", external_id="CX-1")

    response = pmo_client.post(
        admin_url(Initiative, "changelist") + "?archived=archived",
        {"action": "restore_selected", "_selected_action": [archived.pk]},
    )

    assert response.status_code == 302
    assert (
        f"{archived.key}: An initiative with this external id already exists for this source."
        in messages_of(response)
    )
    archived.refresh_from_db()
    assert archived.archived_at is not None


def test_viewers_cannot_archive(viewer_client):
    initiative = factories.InitiativeFactory()
    viewer_client.post(
        admin_url(Initiative, "changelist"),
        {"action": "archive_selected", "_selected_action": [initiative.pk]},
    )
    initiative.refresh_from_db()
    assert initiative.archived_at is None


# --- goals, reviews, read-only history --------------------------------------------------------


def test_goal_changelist_shows_current_value_and_progress(pmo_client, active_vision):
    nps = factories.GoalFactory(
        vision=active_vision, code="G-NPS", baseline=Decimal("20"), target=Decimal("40")
    )
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 3, 31), value=22)
    factories.MeasurementFactory(goal=nps, observed_on=datetime.date(2026, 6, 30), value=25)
    factories.GoalFactory(vision=active_vision, code="G-AHT")

    html = pmo_client.get(admin_url(Goal, "changelist")).content.decode()
    row = next(r for r in html.split("<tr") if "G-NPS" in r)

    assert "20 points" in row
    assert "25 points" in row
    assert "40 points" in row
    assert "25 %" in row
    assert "2026-06-30" in row or "June 30, 2026" in row


def test_stage_changes_are_read_only(pmo_client):
    change = BUILDERS[StageChange]()
    url = admin_url(StageChange, "change", change.pk)

    page = pmo_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert pmo_client.post(url, {"note": "rewritten"}).status_code == 403
    assert pmo_client.get(admin_url(StageChange, "add")).status_code == 403
    assert pmo_client.post(admin_url(StageChange, "delete", change.pk)).status_code == 403


def test_a_decision_added_in_the_review_inline_freezes_a_snapshot(
    pmo_client, pmo_user, active_vision
):
    review = factories.ReviewFactory(vision=active_vision, period="2026-Q4")
    initiative = factories.InitiativeFactory(stage=Stage.PROPOSED)
    url = admin_url(Review, "change", review.pk)
    data = form_data(pmo_client.get(url))
    add_inline_row(
        data, "decisions", initiative=initiative.pk, decision="continue", rationale="On track"
    )

    response = pmo_client.post(url, data)

    assert response.status_code == 302, errors_of(response)
    decision = ReviewDecision.objects.get(review=review, initiative=initiative)
    assert decision.decided_by == pmo_user
    assert decision.snapshot["stage"] == Stage.PROPOSED
    assert decision.snapshot["key"] == initiative.key


def test_a_closed_review_is_shown_but_never_changed(pmo_client, active_vision):
    decision = BUILDERS[ReviewDecision]()
    Review.objects.filter(pk=decision.review_id).update(
        status=choices.ReviewStatus.CLOSED,
        closed_at=datetime.datetime(2026, 12, 20, tzinfo=datetime.UTC),
    )

    page = pmo_client.get(admin_url(Review, "change", decision.review_id))
    assert page.status_code == 200
    decisions = page.context["inline_admin_formsets"][0]
    assert not decisions.has_change_permission
    assert not decisions.has_add_permission
    assert pmo_client.post(admin_url(Review, "change", decision.review_id), {}).status_code == 403
    assert (
        pmo_client.post(
            admin_url(ReviewDecision, "change", decision.pk), {"decision": "stop"}
        ).status_code
        == 403
    )
    decision.refresh_from_db()
    assert decision.decision == choices.Decision.CONTINUE
