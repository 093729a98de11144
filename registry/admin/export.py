"""Admin actions on the initiative changelist: export the selected initiatives as CSV or XLSX
in the registry's own layout (`registry.spreadsheets.exports`), which the import page reads back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from registry.spreadsheets import exports

if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object


def _download(content: bytes, content_type: str, extension: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    filename = exports.export_filename(extension)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ExportActionsMixin(_AdminBase):
    """`export_selected_csv` and `export_selected_xlsx`; the changelist's queryset already
    hides what the user may not see. Archived initiatives are left out, as in the API export.
    """

    def _exported(self, queryset: QuerySet) -> QuerySet:
        live = queryset.model.objects.filter(pk__in=queryset.values("pk"), archived_at__isnull=True)
        return exports.export_queryset(live)

    @admin.action(description=_("Export selected as CSV (re-importable)"), permissions=["view"])
    def export_selected_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        content = exports.export_csv(self._exported(queryset))
        return _download(content, "text/csv; charset=utf-8", "csv")

    @admin.action(description=_("Export selected as XLSX (re-importable)"), permissions=["view"])
    def export_selected_xlsx(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        content = exports.export_xlsx(self._exported(queryset))
        return _download(content, exports.XLSX_MEDIA_TYPE, "xlsx")
