"""The admin's spreadsheet import and mapping builder, mounted at /admin/registry/import/ (PMO
only)."""

from django.urls import path

from registry.board.imports import (
    import_cancel,
    import_confirm,
    import_done,
    import_preview,
    import_start,
    pmo_view,
)
from registry.board.mapping_builder import builder_edit, builder_start, run_page, run_status

app_name = "registry_import"

urlpatterns = [
    path("", pmo_view(import_start), name="start"),
    path("builder/", pmo_view(builder_start), name="builder-start"),
    path("builder/runs/<str:token>/", pmo_view(run_page), name="run"),
    path("builder/runs/<str:token>/status/", pmo_view(run_status), name="run-status"),
    path("builder/<str:token>/", pmo_view(builder_edit), name="builder"),
    path("<str:token>/", pmo_view(import_preview), name="preview"),
    path("<str:token>/confirm/", pmo_view(import_confirm), name="confirm"),
    path("<str:token>/cancel/", pmo_view(import_cancel), name="cancel"),
    path("<str:token>/summary/", pmo_view(import_done), name="done"),
]
