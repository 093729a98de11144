"""Every board page is one click from the admin index and from the dashboard's top; "View
site" opens the dashboard instead of a 404."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from registry import choices
from registry.models import Review
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviews(active_vision):
    closed = factories.ReviewFactory(vision=active_vision, period="2026-Q3")
    Review.objects.filter(pk=closed.pk).update(
        status=choices.ReviewStatus.CLOSED,
        closed_at=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC),
    )
    return factories.ReviewFactory(vision=active_vision, period="2026-Q4"), closed


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_index_and_the_dashboard_link_every_board_page(pmo_user, reviews):
    open_review, closed = reviews
    client = client_of(pmo_user)
    wanted = {
        reverse("registry_board:dashboard"),
        reverse("registry_board:review", args=[open_review.pk]),
        reverse("registry_board:review-summary", args=[closed.pk]),
        reverse("registry_import:start"),
        reverse("admin:registry_savedview_changelist"),
        reverse("admin:registry_initiative_changelist"),
    }
    for page in (reverse("admin:index"), reverse("registry_board:dashboard")):
        html = client.get(page).content.decode()
        nav = html[html.index('class="registry-board-nav"') :]
        nav = nav[: nav.index("</nav>")]
        assert all(f'href="{url}"' in nav for url in wanted), (page, nav)
        for url in wanted:  # and each of them opens
            assert client.get(url).status_code == 200, url


def test_a_viewer_gets_the_pages_they_may_read_and_no_import(viewer_user, reviews):
    html = client_of(viewer_user).get(reverse("admin:index")).content.decode()
    assert reverse("registry_board:dashboard") in html
    assert reverse("registry_import:start") not in html


def test_view_site_opens_the_dashboard(pmo_user, active_vision):
    client = client_of(pmo_user)
    html = client.get(reverse("admin:index")).content.decode()
    dashboard = reverse("registry_board:dashboard")
    assert f'<a href="{dashboard}">' in html  # the header's "View site"
    assert client.get(dashboard).status_code == 200
