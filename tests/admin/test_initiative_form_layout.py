"""The initiative change form at a readable length: fieldsets that fold (core and alignment
open), alignment rows named by goal, labels that read as labels.
"""

from __future__ import annotations

import re

from django.urls import reverse

from tests.board import test_dashboard
from tests.board.test_dashboard import browser

portfolio = test_dashboard.portfolio  # the dashboard tests' crafted portfolio


def change_page(portfolio, role: str = "pmo", name: str = "chat") -> str:
    url = reverse("admin:registry_initiative_change", args=[portfolio.initiatives[name].pk])
    response = browser(portfolio.users[role]).get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_fieldsets_fold_except_core_and_alignment(portfolio):
    html = change_page(portfolio)
    folded = re.findall(r"<details[^>]*>\s*<summary>\s*<h2[^>]*>([^<]+)</h2>", html)
    assert folded == [
        "Customer experience",
        "Experiment",
        "Technology and risk",
        "Budget and timeline",
        "Classification",
        "Sync identity",
        "History",
    ]
    assert re.search(r"<h2[^>]*>\s*Alignment\s*</h2>", html)
    # The core fields are on the open part of the form, above every folded one.
    first_fold = html.index("<details")
    for field in ("id_name", "id_kind", "id_summary", "id_owner", "id_lead_department"):
        assert html.index(f'id="{field}"') < first_fold, field


def test_alignment_rows_are_named_by_goal(portfolio):
    html = change_page(portfolio)
    group = html[html.index('id="alignments-group"') :]
    group = group[: group.index("</fieldset>")]
    nps = portfolio.goals["nps"]
    assert f"G-NPS · {nps.title} (Strong)" in group
    assert "→" not in group


def test_labels_read_as_labels(portfolio):
    html = change_page(portfolio)
    labels = re.findall(r"<label[^>]*>([^<]+)</label>", html)
    headers = re.findall(r'<th class="column-[^"]*"[^>]*>([^<]+)', html)
    texts = [t.strip().rstrip(":") for t in labels + headers if t.strip()]
    assert texts
    for text in texts:
        assert "_" not in text, text
        assert not text[0].islower(), text


def test_the_viewer_sees_the_same_folds_without_confidential_rows(portfolio):
    html = change_page(portfolio, role="viewer")
    assert "<details" in html
    assert portfolio.initiatives["secret"].key not in html
