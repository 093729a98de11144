""" "Export this list" as XLSX is made for reading: labels in the reader's language, one
column per goal, frozen header, autofilter, widths that fit, local times in file names.
"""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tests.board import test_dashboard
from tests.board.test_dashboard import browser

portfolio = test_dashboard.portfolio  # the dashboard tests' crafted portfolio

EXPORT_XLSX = reverse("admin:registry_initiative_export", args=["xlsx"])
EXPORT_CSV = reverse("admin:registry_initiative_export", args=["csv"])


def workbook(client, **params):
    response = client.get(EXPORT_XLSX, params)
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header = [cell.value for cell in sheet[1]]
    rows = {
        row[0]: dict(zip(header, row, strict=True))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    return response, sheet, header, rows


def test_labels_not_codes_and_a_column_per_goal(portfolio):
    _response, sheet, header, rows = workbook(browser(portfolio.users["pmo"]))
    chat = rows[portfolio.initiatives["chat"].key]
    nps = portfolio.goals["nps"]

    assert chat["Kind"] == "Chatbot / virtual agent"
    assert chat["Stage"] == str(portfolio.initiatives["chat"].get_stage_display())
    assert chat["Lead department"] == "Customer service"  # not the slug "service"
    assert chat[f"G-NPS · {nps.title}"] == "Strong · primary"
    assert "alignments" not in header  # no JSON column
    assert chat["Customer-facing"] in ("Yes", "No")
    # The sheet is ready to filter: header frozen with key and name, autofilter over it all.
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert sheet.column_dimensions["B"].width > 12  # names are wider than the default


def test_the_reader_gets_german_labels_and_dates(portfolio):
    client = browser(portfolio.users["pmo"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "de"
    _response, sheet, header, rows = workbook(client)
    assert header[:4] == ["Schlüssel", "Name", "Art", "Phase"]
    chat = rows[portfolio.initiatives["chat"].key]
    assert chat["Art"] == "Chatbot / virtueller Assistent"
    date_cells = [c for c in sheet[2] if isinstance(c.value, datetime.datetime | datetime.date)]
    assert date_cells
    assert all(c.number_format.startswith("DD.MM.YYYY") for c in date_cells)


def test_the_viewer_gets_no_confidential_row(portfolio):
    _response, _sheet, _header, rows = workbook(browser(portfolio.users["viewer"]))
    assert portfolio.initiatives["secret"].key not in rows
    assert portfolio.initiatives["chat"].key in rows


@pytest.mark.parametrize("url", [EXPORT_XLSX, EXPORT_CSV])
def test_file_names_carry_the_local_time(portfolio, url):
    before = timezone.localtime()
    response = browser(portfolio.users["pmo"]).get(url)
    after = timezone.localtime()
    stamp = re.search(r"initiatives-(\d{8}-\d{4})\.", response["Content-Disposition"]).group(1)
    assert stamp in {before.strftime("%Y%m%d-%H%M"), after.strftime("%Y%m%d-%H%M")}
    assert timezone.get_current_timezone_name() == "Europe/Berlin"


def test_the_reimportable_xlsx_has_a_frozen_header_and_a_filter(portfolio):
    from registry.spreadsheets import exports

    response = portfolio.client("pmo").get("/api/v1/initiatives/export/", {"format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == sheet.dimensions
    assert sheet.column_dimensions["B"].width == exports.XLSX_WIDTHS["name"]
