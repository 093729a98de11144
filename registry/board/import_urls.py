"""The admin's spreadsheet import, mounted at /admin/registry/import/ (PMO only)."""

from django.urls import path

from registry.board.imports import (
    import_cancel,
    import_confirm,
    import_done,
    import_preview,
    import_start,
    pmo_view,
)

app_name = "registry_import"

urlpatterns = [
    path("", pmo_view(import_start), name="start"),
    path("<str:token>/", pmo_view(import_preview), name="preview"),
    path("<str:token>/confirm/", pmo_view(import_confirm), name="confirm"),
    path("<str:token>/cancel/", pmo_view(import_cancel), name="cancel"),
    path("<str:token>/summary/", pmo_view(import_done), name="done"),
]
