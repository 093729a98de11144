"""Exports from the initiative changelist: "Export this list" (CSV or XLSX) for whatever the
filters, search and quick filters select — the querystring of the page is the export's — and
the actions that export the ticked rows. CSV (and the actions' XLSX) is the registry's own
layout (`registry.spreadsheets.exports`), which the import page reads back; "Export this
list" as XLSX is the workbook for reading (`registry.spreadsheets.readable`): labels in the
reader's language, one column per goal, frozen header, autofilter.

Before, exporting meant ticking "select all", choosing an action and pressing Go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.utils.translation import gettext_lazy as _

from registry.spreadsheets import exports, readable

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

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "export/<str:file_format>/",
                self.admin_site.admin_view(self.export_list_view),
                name="{}_{}_export".format(*info),
            ),
            *super().get_urls(),
        ]

    def export_list_view(self, request: HttpRequest, file_format: str) -> HttpResponse:
        """The changelist's current selection (its querystring), every page of it."""
        if file_format not in ("csv", "xlsx"):
            raise Http404
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(request.path.rsplit("export/", 1)[0] + "?e=1")
        selected = changelist.get_queryset(request)
        if file_format == "xlsx":
            content = readable.readable_xlsx(self._exported(selected))
            return _download(content, exports.XLSX_MEDIA_TYPE, "xlsx")
        return self.export_selected_csv(request, selected)

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
