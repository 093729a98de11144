"""Spreadsheet import in the admin: upload → preview (a dry run) → confirm → summary.

Thin views over `registry.spreadsheets.imports`. The uploaded file waits in the user's session
(compressed) between preview and confirm, keyed by a random token, so it is not uploaded
twice and any app process behind the load balancer can finish the import.
"""

from __future__ import annotations

import base64
import secrets
import time
import zlib
from functools import wraps
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from registry import permissions
from registry.choices import Gate, Stage
from registry.models import Initiative
from registry.spreadsheets import builder, imports
from registry.sync import upsert as sync

UPLOAD_EXTENSIONS = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")
SESSION_UPLOADS = "registry_import_uploads"
SESSION_RESULTS = "registry_import_results"
MAX_PENDING_UPLOADS = 3
PREVIEW_ROWS = 20
SUMMARY_ROWS = 50
MAX_LISTED_ISSUES = 500
STATUS_LABELS = {
    "created": gettext_lazy("created"),
    "updated": gettext_lazy("updated"),
    "unchanged": gettext_lazy("unchanged"),
    "rejected": gettext_lazy("rejected"),
    "duplicate": gettext_lazy("duplicate, skipped"),
    "not_written": gettext_lazy("not written"),
}


def may_import(user: Any) -> bool:
    """Importing registers initiatives of any department and source: the PMO's."""
    return permissions.can_write_reference_data(user)


def pmo_view(view: Any) -> Any:
    """Staff login through the admin, then the PMO's right to register initiatives."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_import(request.user):
            raise PermissionDenied(_("Importing initiatives is for the PMO."))
        return view(request, *args, **kwargs)

    return admin.site.admin_view(checked)


def max_upload_bytes() -> int:
    """REGISTRY_IMPORT_MAX_UPLOAD_BYTES: the largest spreadsheet the admin accepts."""
    return int(settings.REGISTRY_IMPORT_MAX_UPLOAD_BYTES)


def upload_limit_text() -> str:
    return _("The file is larger than %(limit)s, the limit for uploads.") % {
        "limit": filesizeformat(max_upload_bytes())
    }


def mapping_choices() -> list[tuple[str, str]]:
    # Shipped mappings' names are in the catalogue (makemessages reads the YAML); saved ones
    # are the PMO's own words.
    shipped = [(mapping.slug, _(mapping.name)) for mapping in imports.shipped_mappings()]
    saved = [
        (mapping.slug, f"{mapping.slug} ({mapping.name})") for mapping in builder.saved_mappings()
    ]
    return shipped + saved


class ImportUploadForm(forms.Form):
    required_css_class = "required"

    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy("CSV (UTF-8 or Windows-1252) or XLSX."),
    )
    mapping = forms.ChoiceField(
        label=gettext_lazy("Mapping"),
        help_text=gettext_lazy("Which columns fill which fields, and how words translate."),
    )
    source = forms.SlugField(
        label=gettext_lazy("Source"),
        max_length=Initiative._meta.get_field("source").max_length,
        required=False,
        help_text=gettext_lazy(
            "The sync source the initiatives belong to; re-importing into the same source "
            "updates them. Leave empty for the mapping's own (e.g. us-federal-2023)."
        ),
    )
    atomic = forms.BooleanField(
        label=gettext_lazy("All or nothing"),
        required=False,
        initial=True,
        help_text=gettext_lazy(
            "Write nothing if any row is rejected. Untick to write the good rows anyway."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        mapping_field = self.fields["mapping"]
        assert isinstance(mapping_field, forms.ChoiceField)
        mapping_field.choices = mapping_choices()

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(UPLOAD_EXTENSIONS):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(upload_limit_text())
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("mapping"):
            data["mapping_obj"] = imports.load_mapping(data["mapping"])
            data["source"] = data.get("source") or data["mapping_obj"].default_source
        return data


def page_context(request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
    return {
        **admin.site.each_context(request),
        "title": title,
        "opts": Initiative._meta,
        "app_label": Initiative._meta.app_label,
        **extra,
    }


def row_view(row: dict[str, Any]) -> dict[str, Any]:
    """A row's result for a table: status label, and the initiative's admin link if any."""
    link = ""
    if row.get("initiative_id") and row["status"] in ("created", "updated", "unchanged"):
        link = reverse("admin:registry_initiative_change", args=[row["initiative_id"]])
    return {
        **row,
        "status_label": STATUS_LABELS.get(row["status"], row["status"]),
        "stage_label": Stage(row["stage"]).label if row.get("stage") in Stage.values else "",
        "gap_labels": [str(Gate(gap).label) for gap in row.get("gate_gaps", ())],
        "link": link,
    }


def pending_upload(request: HttpRequest, token: str, *, builder: bool = False) -> dict[str, Any]:
    """A waiting upload of this page's kind (the import page's or the mapping builder's)."""
    upload = request.session.get(SESSION_UPLOADS, {}).get(token)
    if upload is None or bool(upload.get("builder")) != builder:
        raise Http404(_("This upload is no longer waiting; upload the file again."))
    return upload


def keep_upload(request: HttpRequest, data: bytes, *, filename: str, **meta: Any) -> str:
    """Keep an uploaded file in the session until it is imported; the token that names it."""
    token = secrets.token_urlsafe(16)
    uploads = request.session.get(SESSION_UPLOADS, {})
    # Keep only the newest few waiting uploads: each sits in the session.
    for old in sorted(uploads, key=lambda t: uploads[t]["uploaded_at"])[
        : max(0, len(uploads) - MAX_PENDING_UPLOADS + 1)
    ]:
        del uploads[old]
    uploads[token] = {
        "filename": filename,
        **meta,
        "size": len(data),
        "uploaded_at": time.time(),
        "data": base64.b64encode(zlib.compress(data, 6)).decode("ascii"),
    }
    request.session[SESSION_UPLOADS] = uploads
    return token


def file_bytes(upload: dict[str, Any]) -> bytes:
    return zlib.decompress(base64.b64decode(upload["data"]))


def forget_upload(request: HttpRequest, token: str) -> None:
    uploads = request.session.get(SESSION_UPLOADS, {})
    if uploads.pop(token, None) is not None:
        request.session[SESSION_UPLOADS] = uploads


def _run(
    request: HttpRequest, upload: dict[str, Any], *, dry_run: bool, atomic: bool
) -> imports.ImportReport:
    return imports.import_file(
        file_bytes(upload),
        mapping=imports.load_mapping(upload["mapping"]),
        source=upload["source"],
        filename=upload["filename"],
        actor=request.user,
        actor_name=request.user.get_username(),
        dry_run=dry_run,
        atomic=atomic,
    )


@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    """Upload a file and choose a mapping; a readable file goes on to the preview."""
    form = ImportUploadForm(
        request.POST or None,
        request.FILES or None,
        initial={"mapping": request.GET.get("mapping", "")},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data["file"].read()
        mapping = form.cleaned_data["mapping_obj"]
        try:
            # Read and map now, so a wrong file or layout is reported on this page.
            table = imports.read_table(
                data,
                filename=form.cleaned_data["file"].name,
                encoding=mapping.encoding,
                delimiter=mapping.delimiter,
                sheet=mapping.sheet,
            )
            imports.map_table(table, mapping)
        except (imports.ImportFileError, UnicodeDecodeError) as error:
            form.add_error("file", str(error))
        else:
            token = keep_upload(
                request,
                data,
                filename=form.cleaned_data["file"].name,
                mapping=mapping.slug,
                source=form.cleaned_data["source"],
                atomic=form.cleaned_data["atomic"],
            )
            return HttpResponseRedirect(reverse("registry_import:preview", args=[token]))
    return render(
        request,
        "registry/import/start.html",
        page_context(
            request,
            _("Import initiatives from a spreadsheet"),
            form=form,
            mappings=imports.shipped_mappings(),
        ),
    )


@require_http_methods(["GET"])
def import_preview(request: HttpRequest, token: str) -> HttpResponse:
    """A dry run of the waiting upload: counts, the first rows and every rejection."""
    upload = pending_upload(request, token)
    try:
        report = _run(request, upload, dry_run=True, atomic=upload["atomic"])
    except (imports.ImportFileError, imports.MappingError, sync.SyncError) as error:
        forget_upload(request, token)
        messages.error(request, str(error))
        return HttpResponseRedirect(reverse("registry_import:start"))
    return render(
        request,
        "registry/import/preview.html",
        page_context(
            request,
            _("Preview of the import"),
            token=token,
            upload=upload,
            report=report,
            counts=report.counts(),
            rows=[row_view(row.as_dict()) for row in report.rows[:PREVIEW_ROWS]],
            preview_rows=PREVIEW_ROWS,
            rejections=report.rejections(),
            warnings=report.warnings()[:MAX_LISTED_ISSUES],
        ),
    )


@require_POST
def import_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Run the previewed import for real, then show its summary."""
    upload = pending_upload(request, token)
    atomic = upload["atomic"] and not request.POST.get("skip_rejected")
    try:
        report = _run(request, upload, dry_run=False, atomic=atomic)
    except (imports.ImportFileError, imports.MappingError, sync.SyncError) as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(reverse("registry_import:preview", args=[token]))
    forget_upload(request, token)
    summary = report.as_dict()
    summary["rejections"] = summary["rejections"][:MAX_LISTED_ISSUES]
    summary["warnings"] = summary["warnings"][:MAX_LISTED_ISSUES]
    summary["rows"] = [row.as_dict() for row in report.rows[:SUMMARY_ROWS]]
    summary["gate_gap_labels"] = report.gate_gap_labels()
    summary["failed"] = report.failed
    results = request.session.get(SESSION_RESULTS, {})
    results = dict(list(results.items())[-(MAX_PENDING_UPLOADS - 1) :]) if results else {}
    results[token] = summary
    request.session[SESSION_RESULTS] = results
    if report.written:
        counts = report.counts()
        messages.success(
            request,
            _(
                "Imported %(file)s: %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged."
            )
            % {
                "file": upload["filename"],
                "created": counts["created"],
                "updated": counts["updated"],
                "unchanged": counts["unchanged"],
            },
        )
    else:
        messages.error(request, _("Nothing was written: rows were rejected."))
    return HttpResponseRedirect(reverse("registry_import:done", args=[token]))


@require_POST
def import_cancel(request: HttpRequest, token: str) -> HttpResponse:
    forget_upload(request, token)
    messages.info(request, _("The upload was discarded; nothing was imported."))
    return HttpResponseRedirect(reverse("registry_import:start"))


@require_http_methods(["GET"])
def import_done(request: HttpRequest, token: str) -> HttpResponse:
    summary = request.session.get(SESSION_RESULTS, {}).get(token)
    if summary is None:
        raise Http404(_("No import with this token in your session."))
    return render(
        request,
        "registry/import/done.html",
        page_context(
            request,
            _("Import summary"),
            summary=summary,
            counts=summary["counts"],
            rows=[row_view(row) for row in summary["rows"]],
            summary_rows=SUMMARY_ROWS,
        ),
    )
