"""`GET /initiatives/export/?format=csv|xlsx`: the filtered portfolio in the registry's own
layout, which the importer reads back to the same state (`registry.spreadsheets.exports`).

The same filters, visibility and permissions as the initiative list (it is that list, not
paginated); only the layout differs from the list's `?format=csv` (a flat summary for slides).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from registry.api.initiatives.views import InitiativeViewSet
from registry.spreadsheets import exports


class FileRenderer(BaseRenderer):
    """Passes through the bytes the view made; errors are rendered as JSON instead."""

    charset = None

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return data if isinstance(data, bytes) else b""


class ExportCSVRenderer(FileRenderer):
    media_type = "text/csv"
    format = "csv"


class ExportXLSXRenderer(FileRenderer):
    media_type = exports.XLSX_MEDIA_TYPE
    format = "xlsx"


class InitiativeExportViewSet(InitiativeViewSet):
    """The initiative list as a spreadsheet that re-imports to the same state."""

    pagination_class = None  # type: ignore[assignment]  # the whole filtered list

    def get_renderers(self) -> list:
        return [ExportCSVRenderer(), ExportXLSXRenderer(), JSONRenderer()]

    def get_queryset(self) -> Any:
        # The list's queryset already prefetches everything the layout reads. Archived
        # initiatives are left out: an import brings back live ones, it archives nothing.
        return super().get_queryset().filter(archived_at__isnull=True).order_by("key")

    @extend_schema(
        operation_id="initiatives_export",
        summary=_("Export the filtered initiatives as CSV or XLSX"),
        description=_(
            "Every live initiative the list's filters select (same parameters, same "
            "visibility; archived ones are not exported), in the registry's own layout: "
            "`manage.py import_initiatives FILE --mapping registry-export` (or the admin's "
            "import) reads it back — the same registry "
            "reports every row unchanged, an empty one gets the same initiatives, keys "
            "included."
        ),
        parameters=[
            OpenApiParameter(
                "format",
                str,
                OpenApiParameter.QUERY,
                enum=["csv", "xlsx"],
                description=_("csv (UTF-8 with BOM, the default) or xlsx."),
            )
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=_("CSV file.")),
            (200, exports.XLSX_MEDIA_TYPE): OpenApiResponse(
                OpenApiTypes.BINARY, description=_("XLSX workbook.")
            ),
        },
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        initiatives = self.filter_queryset(self.get_queryset())
        if self.wants_xlsx():
            content, extension = exports.export_xlsx(initiatives), "xlsx"
        else:
            content, extension = exports.export_csv(initiatives), "csv"
        response = Response(content)
        filename = exports.export_filename(extension)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response

    def wants_xlsx(self) -> bool:
        renderer = getattr(self.request, "accepted_renderer", None)
        return getattr(renderer, "format", None) == "xlsx"

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if response.status_code >= 400:
            # Errors keep the one JSON error shape, whatever file was asked for.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
