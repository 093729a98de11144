"""The initiative changelist's quick filters and "Export this list": chips above the results
that are real filters, and exports of exactly what the page selects — never more than the
reader may see.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from registry.selectors import reports
from tests.board import test_dashboard
from tests.board.test_dashboard import browser

portfolio = test_dashboard.portfolio  # the dashboard tests' crafted portfolio

CHANGELIST = reverse("admin:registry_initiative_changelist")
EXPORT_CSV = reverse("admin:registry_initiative_export", args=["csv"])
EXPORT_XLSX = reverse("admin:registry_initiative_export", args=["xlsx"])


def chips(html: str) -> dict[str, str]:
    start = html.index('id="quick-filters"')
    block = html[start : html.index("</nav>", start)]
    found = re.findall(r'<a href="([^"]+)" class="registry-chip[^"]*"[^>]*>([^<]+)</a>', block)
    return {
        label.replace(" ✕", ""): CHANGELIST + link.replace("&amp;", "&") for link, label in found
    }


def keys_shown(client, url: str) -> set[str]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.key for obj in response.context["cl"].queryset}


def csv_keys(content: bytes) -> set[str]:
    rows = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    return {row["key"] for row in rows}


@pytest.mark.parametrize("role", ["pmo", "viewer", "teamie"])
def test_chips_are_real_filters_at_the_top(portfolio, role):
    user = portfolio.users[role]
    client = browser(user)
    html = client.get(CHANGELIST).content.decode()
    # Above the results, not down the sidebar.
    assert html.index('id="quick-filters"') < html.index('id="result_list"')
    found = chips(html)
    assert list(found) == [
        "Serving no goal",
        "Weakly aligned",
        "Strongly aligned",
        "Overlaps",
        "Silos",
        "Gate gaps",
        "High risk",
        "Prohibited",
    ]
    unaligned = {row["key"] for row in reports.unaligned(user=user, period=None)}
    silos = {row["key"] for row in reports.silos(user=user, period=None)}
    overlapping = {m["key"] for g in reports.overlaps(user=user) for m in g["members"]}
    gaps = {row["key"] for row in reports.gate_gaps(user=user, period=None)}
    open_stages = "&stage__in=idea,proposed,approved,pilot,scaling,production"
    assert keys_shown(client, found["Serving no goal"] + open_stages) == unaligned
    assert keys_shown(client, found["Silos"]) == silos
    assert keys_shown(client, found["Overlaps"]) == overlapping
    assert keys_shown(client, found["Gate gaps"]) == gaps
    secret = portfolio.initiatives["secret"].key
    everything = keys_shown(client, CHANGELIST)
    assert (secret in everything) is (role != "viewer")


def test_a_chip_keeps_the_other_filters_and_removes_itself(portfolio):
    client = browser(portfolio.users["pmo"])
    it = portfolio.departments["it"]
    page = client.get(CHANGELIST, {"lead_department__id__exact": it.pk}).content.decode()
    silo_link = chips(page)["Silos"]
    assert f"lead_department__id__exact={it.pk}" in silo_link
    chosen = client.get(silo_link).content.decode()
    assert "registry-chip--selected" in chosen
    again = chips(chosen)["Silos"]
    assert "silo=" not in again
    assert f"lead_department__id__exact={it.pk}" in again


def test_a_bad_flag_value_is_refused_not_ignored(portfolio):
    response = browser(portfolio.users["pmo"]).get(CHANGELIST, {"silo": "maybe"})
    assert response.status_code == 302
    assert "e=1" in response["Location"]


@pytest.mark.parametrize("role", ["pmo", "viewer"])
def test_export_this_list_exports_what_the_page_selects(portfolio, role):
    client = browser(portfolio.users[role])
    page = client.get(CHANGELIST, {"alignment": "none"}).content.decode()
    link = re.search(r'href="([^"]+)"[^>]*id="export-list-csv"', page).group(1)
    assert link == f"{EXPORT_CSV}?alignment=none"
    shown = keys_shown(client, f"{CHANGELIST}?alignment=none")

    response = client.get(link.replace("&amp;", "&"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert csv_keys(response.content) == shown
    everything = csv_keys(client.get(EXPORT_CSV).content)
    assert (portfolio.initiatives["secret"].key in everything) is (role == "pmo")
    assert 'id="export-list-xlsx"' in page
    xlsx = client.get(EXPORT_XLSX, {"alignment": "none"})
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"


def test_export_this_list_refuses_unknown_formats_and_bad_filters(portfolio):
    client = browser(portfolio.users["pmo"])
    assert client.get(reverse("admin:registry_initiative_export", args=["pdf"])).status_code == 404
    assert client.get(EXPORT_CSV, {"alignment": "sideways"}).status_code == 302
