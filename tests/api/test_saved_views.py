"""Saved views: who sees and changes which, their filters checked like the list checks them,
`?view=` on the initiative list (explicit filters win), the admin's saved-view filter and
admin, and the review's standing queries.
"""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from registry import choices, permissions
from registry.models import Initiative
from registry.services.saved_views import STANDING_QUERIES, SavedView, saved_views_seed_standing
from tests.api.support import (
    API,
    PUBLIC_LIVE,
    Portfolio,
    api_client,
    error_attrs,
    error_codes,
    keys_of,
    make_portfolio,
    make_user,
)

URL = f"{API}saved-views/"


@pytest.fixture
def portfolio(db) -> Portfolio:
    p = make_portfolio()
    p.users["board"] = make_user("api-board", permissions.VIEWER)
    # pilots: chat (aligned strong); an unaligned pilot; nbo is high-risk, not customer-facing.
    p.initiatives["bare_pilot"] = Initiative.objects.create(
        name="Unaligned pilot",
        kind=choices.Kind.AUTOMATION,
        stage=choices.Stage.PILOT,
        lead_department=p.departments["it"],
        risk_tier=choices.RiskTier.HIGH,
        customer_facing=True,
    )
    p.initiatives["bare_pilot"].refresh_from_db()
    return p


def views_of(client) -> list[str]:
    return sorted(row["slug"] for row in client.get(URL).json()["results"])


def create(client, **fields):
    return client.post(URL, fields, format="json")


# --- visibility and who changes what ------------------------------------------------------------


def test_private_views_are_their_owners_shared_ones_everyones(portfolio):
    viewer, board, pmo = (portfolio.client(r) for r in ("viewer", "board", "pmo"))
    mine = create(viewer, name="My pilots", query="stage=pilot")
    assert mine.status_code == 201, mine.content
    assert mine.json()["owner"] == "api-viewer"
    assert mine.json()["slug"] == "my-pilots"
    assert mine.json()["shared"] is False
    # Sharing lists a view in everyone's filter list: the PMO's to do, not a viewer's.
    refused = create(board, name="Board watch list", query="risk_tier=high", shared=True)
    assert refused.status_code == 403
    assert error_attrs(refused) == ["shared"]
    shared = create(pmo, name="Board watch list", query="risk_tier=high", shared=True)
    assert shared.status_code == 201

    assert views_of(viewer) == ["board-watch-list", "my-pilots"]
    assert views_of(board) == ["board-watch-list"]
    assert views_of(portfolio.client("contributor")) == ["board-watch-list"]
    assert views_of(pmo) == ["board-watch-list", "my-pilots"]  # the PMO manages all
    private_url = mine.json()["url"]
    assert board.get(private_url).status_code == 404
    assert pmo.get(private_url).status_code == 200
    filtered = viewer.get(URL, {"mine": "true"}).json()["results"]
    assert [row["slug"] for row in filtered] == ["my-pilots"]


def test_only_the_owner_or_the_pmo_changes_a_view(portfolio):
    viewer, board, pmo = (portfolio.client(r) for r in ("viewer", "board", "pmo"))
    shared = create(pmo, name="Board watch list", query="risk_tier=high", shared=True).json()

    for outsider in (viewer, board):
        refused = outsider.patch(shared["url"], {"name": "Hijacked"}, format="json")
        assert refused.status_code == 403
        assert outsider.delete(shared["url"]).status_code == 403
    assert SavedView.objects.get(pk=shared["id"]).name == "Board watch list"
    # A viewer's own view stays private: publishing it is refused.
    own = create(board, name="Mine", query="stage=pilot").json()
    assert board.patch(own["url"], {"shared": True}, format="json").status_code == 403
    assert not SavedView.objects.get(pk=own["id"]).shared

    renamed = pmo.patch(shared["url"], {"name": "Watch list"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["slug"] == "board-watch-list"  # a rename keeps the slug
    assert pmo.patch(shared["url"], {"shared": False}, format="json").status_code == 200
    assert viewer.get(shared["url"]).status_code == 404  # no longer shared
    assert pmo.delete(shared["url"]).status_code == 204
    assert not SavedView.objects.filter(pk=shared["id"]).exists()


@pytest.mark.parametrize(("role", "status"), [("anonymous", 401), ("norole", 403)])
def test_saved_views_need_a_registry_role(portfolio, role, status):
    client = portfolio.client(role)
    assert client.get(URL).status_code == status
    assert create(client, name="Nope", query="stage=pilot").status_code == status


def test_integrations_keep_no_views(portfolio):
    response = create(portfolio.client("integration"), name="Sync", query="source=jira")
    assert response.status_code == 403
    assert not SavedView.objects.exists()


# --- the stored filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("stage=pilot&bogus=1", "'bogus' is not a filter"),
        ("stage=nowhere", "stage:"),
        ("active_in=2026-Q9", "active_in:"),
        ("department=no-such-department", "department:"),
        ("aligned=maybe", "aligned:"),
    ],
)
def test_filters_are_checked_like_the_list_checks_them(portfolio, query, fragment):
    response = create(portfolio.client("viewer"), name="Bad", query=query)
    assert response.status_code == 400
    assert error_attrs(response) == ["query"]
    assert fragment in response.json()["errors"][0]["detail"]
    assert not SavedView.objects.exists()


def test_filters_are_stored_normalised(portfolio):
    response = create(
        portfolio.client("viewer"),
        name="Chat pilots",
        query="?stage=pilot&stage=scaling&kind=chatbot&q=",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["query"] == "stage=pilot&stage=scaling&kind=chatbot"
    assert body["filters"] == {"stage": ["pilot", "scaling"], "kind": ["chatbot"]}
    assert body["initiatives"].endswith(f"/api/v1/initiatives/?view={body['id']}")


def test_a_slug_is_unique_per_owner(portfolio):
    viewer, board = portfolio.client("viewer"), portfolio.client("board")
    assert create(viewer, name="Pilots", query="stage=pilot").status_code == 201
    duplicate = create(viewer, name="Pilots", query="stage=scaling")
    assert duplicate.status_code == 409
    assert error_codes(duplicate) == ["registry_savedview_unique_slug"]
    assert create(board, name="Pilots", query="stage=pilot").status_code == 201


# --- ?view= on the initiative list --------------------------------------------------------------


def test_view_applies_its_filters_and_explicit_ones_win(portfolio):
    pmo = portfolio.client("pmo")
    view = create(pmo, name="Unaligned pilots", query="stage=pilot&aligned=false").json()
    initiatives = f"{API}initiatives/"

    by_id = pmo.get(initiatives, {"view": view["id"]})
    assert by_id.status_code == 200
    assert keys_of(by_id) == [portfolio.key("bare_pilot")]
    assert keys_of(pmo.get(initiatives, {"view": "unaligned-pilots"})) == [
        portfolio.key("bare_pilot")
    ]
    # An explicit filter replaces the view's value for that filter, keeps the others.
    ideas = pmo.get(initiatives, {"view": view["id"], "stage": "idea"})
    assert keys_of(ideas) == portfolio.keys("triage", "legacy")  # still unaligned only
    anything = pmo.get(initiatives, {"view": view["id"], "aligned": "true"})
    assert keys_of(anything) == [portfolio.key("chat")]
    csv_rows = pmo.get(initiatives, {"view": view["id"], "format": "csv"}).content.decode()
    assert portfolio.key("bare_pilot") in csv_rows
    assert portfolio.key("chat") not in csv_rows


def test_high_risk_customer_facing_is_a_filter_of_the_list(portfolio):
    response = portfolio.client("viewer").get(
        f"{API}initiatives/", {"risk_tier": "high", "customer_facing": "true"}
    )
    assert keys_of(response) == [portfolio.key("bare_pilot")]


def test_view_resolution_own_first_then_the_one_shared(portfolio):
    viewer, board, pmo = (portfolio.client(r) for r in ("viewer", "board", "pmo"))
    create(pmo, name="Pilots", query="stage=pilot", shared=True)
    create(viewer, name="Pilots", query="stage=approved")
    initiatives = f"{API}initiatives/"

    assert keys_of(viewer.get(initiatives, {"view": "pilots"})) == [portfolio.key("nbo")]
    board_pilots = keys_of(board.get(initiatives, {"view": "pilots"}))
    assert board_pilots == portfolio.keys("chat", "bare_pilot")
    # A second shared view of the same slug would make the slug ambiguous for everyone else:
    # it is refused, so a standing query's slug always names one view.
    portfolio.users["pmo2"] = make_user("api-pmo2", permissions.PMO)
    second = create(portfolio.client("pmo2"), name="Pilots", query="stage=scaling", shared=True)
    assert second.status_code == 409
    assert error_codes(second) == ["registry_savedview_unique_shared_slug"]
    contributor = portfolio.client("contributor").get(initiatives, {"view": "pilots"})
    assert keys_of(contributor) == portfolio.keys("chat", "bare_pilot")


@pytest.mark.parametrize("reference", ["no-such-view", "999999"])
def test_unknown_or_hidden_views_are_400_naming_view(portfolio, reference):
    response = portfolio.client("viewer").get(f"{API}initiatives/", {"view": reference})
    assert response.status_code == 400
    assert error_attrs(response) == ["view"]


def test_someone_elses_private_view_cannot_be_used(portfolio):
    private = create(portfolio.client("board"), name="Mine", query="stage=pilot").json()
    response = portfolio.client("viewer").get(f"{API}initiatives/", {"view": private["id"]})
    assert response.status_code == 400
    assert error_codes(response) == ["unknown_view"]


def test_a_view_never_reveals_confidential_initiatives(portfolio):
    create(portfolio.client("pmo"), name="Voicebots", query="kind=voicebot", shared=True)
    viewer = keys_of(portfolio.client("viewer").get(f"{API}initiatives/", {"view": "voicebots"}))
    assert viewer == [portfolio.key("legacy")]
    teamie = keys_of(portfolio.client("teamie").get(f"{API}initiatives/", {"view": "voicebots"}))
    assert teamie == portfolio.keys("secret", "legacy")


# --- the admin ----------------------------------------------------------------------------------


def admin_client(user) -> Client:
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(user)
    return client


def test_admin_changelist_applies_a_saved_view(portfolio):
    pmo = admin_client(portfolio.users["pmo"])
    view = SavedView.objects.create(
        owner=portfolio.users["pmo"], name="Unaligned pilots", query="stage=pilot&aligned=false"
    )
    changelist = reverse("admin:registry_initiative_changelist")

    page = pmo.get(changelist, {"view": view.pk})

    assert page.status_code == 200
    assert {obj.key for obj in page.context["cl"].result_list} == {portfolio.key("bare_pilot")}
    html = page.content.decode()
    assert "Unaligned pilots" in html  # listed among the changelist's filters
    assert f"?view={view.pk}" in html
    everything = pmo.get(changelist)
    assert f"view={view.pk}" in everything.content.decode()
    assert len(everything.context["cl"].result_list) == len(PUBLIC_LIVE) + 2
    # Combined with the changelist's own filters.
    narrowed = pmo.get(changelist, {"view": view.pk, "kind__exact": "chatbot"})
    assert list(narrowed.context["cl"].result_list) == []
    # An unknown view is the admin's usual "bad filter" answer, not an error page.
    assert pmo.get(changelist, {"view": "999999"}).status_code == 302


def test_admin_of_saved_views(portfolio):
    viewer_user = portfolio.users["viewer"]
    viewer = admin_client(viewer_user)
    shared = SavedView.objects.create(
        owner=portfolio.users["pmo"], name="Standing", query="stage=pilot", shared=True
    )
    private = SavedView.objects.create(owner=portfolio.users["pmo"], name="PMO only", query="")
    add_url = reverse("admin:registry_savedview_add")

    added = viewer.post(
        add_url, {"name": "My watch list", "slug": "", "query": "risk_tier=high", "description": ""}
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    mine = SavedView.objects.get(name="My watch list")
    assert (mine.owner, mine.slug, mine.shared) == (viewer_user, "my-watch-list", False)

    refused = viewer.post(add_url, {"name": "Bad", "slug": "bad", "query": "stage=nowhere"})
    assert refused.status_code == 200
    assert "stage" in str(refused.context["adminform"].form.errors)
    duplicate = viewer.post(add_url, {"name": "My watch list", "slug": "", "query": ""})
    assert duplicate.status_code == 200
    assert "slug" in duplicate.context["adminform"].form.errors

    listing = viewer.get(reverse("admin:registry_savedview_changelist"))
    assert {obj.name for obj in listing.context["cl"].result_list} == {"Standing", "My watch list"}
    change_shared = reverse("admin:registry_savedview_change", args=[shared.pk])
    viewer.post(change_shared, {"name": "Hijacked", "slug": "standing", "query": ""})
    assert SavedView.objects.get(pk=shared.pk).name == "Standing"  # read-only for others
    hidden = reverse("admin:registry_savedview_change", args=[private.pk])
    assert viewer.get(hidden).status_code == 302  # not theirs to see: back to the list


# --- the review's standing queries --------------------------------------------------------------


def test_standing_queries_are_seeded_once_and_work(portfolio):
    owner = portfolio.users["pmo"]
    seeded = saved_views_seed_standing(owner=owner)
    again = saved_views_seed_standing(owner=owner)

    assert [view.pk for view in seeded] == [view.pk for view in again]
    assert {view.slug for view in seeded} == {standing.slug for standing in STANDING_QUERIES}
    assert all(view.shared for view in seeded)
    viewer = portfolio.client("viewer")
    for view in seeded:
        assert viewer.get(f"{API}initiatives/", {"view": view.slug}).status_code == 200
    risky = viewer.get(f"{API}initiatives/", {"view": "high-risk-customer-facing"})
    assert keys_of(risky) == [portfolio.key("bare_pilot")]


def test_load_demo_shares_the_standing_queries(db):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "unaligned-pilots" in out.getvalue()
    views = SavedView.objects.filter(owner__username="pmo", shared=True)
    assert views.count() == len(STANDING_QUERIES)
    unaligned = Initiative.objects.open().filter(stage=choices.Stage.PILOT).with_alignment_level()
    expected = sorted(unaligned.filter(alignment_strength=0).values_list("key", flat=True))
    viewer = make_user("demo-board", permissions.VIEWER)
    response = api_client(viewer).get(
        f"{API}initiatives/", {"view": "unaligned-pilots", "page_size": 100}
    )
    assert expected  # the demo has pilots that serve no goal
    public = Initiative.objects.filter(key__in=expected, confidential=False)
    public_keys = set(public.values_list("key", flat=True))
    assert keys_of(response) == sorted(public_keys)
    call_command("load_demo", stdout=out)  # again: nothing duplicated
    assert SavedView.objects.filter(owner__username="pmo").count() == len(STANDING_QUERIES)
