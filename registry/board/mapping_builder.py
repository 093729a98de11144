"""The mapping builder (PMO only): an unseen spreadsheet becomes a mapping in the admin.

Upload any CSV or XLSX; the page lists its columns with sample values and the field each
probably fills (`registry.spreadsheets.builder`); the PMO picks the fields, maps the words of
the stage, kind, risk and department columns onto ours and chooses the id columns; previews
the first rows as they would be stored, with every warning; runs a dry run; imports, with a
progress display; and saves the mapping by name. A saved mapping is YAML like the shipped
ones, so `manage.py import_initiatives FILE --mapping NAME` and the import page read it too.

The page keeps no state of its own: every button posts the whole form, which is built again
from the uploaded file (kept in the session, as the import page keeps it). An import runs in
a background thread that writes its progress to an `ImportRun` row, which the run page polls.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import secrets
import threading
from pathlib import PurePath
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import connections, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from registry.board.imports import (
    UPLOAD_EXTENSIONS,
    file_bytes,
    keep_upload,
    max_upload_bytes,
    page_context,
    pending_upload,
    row_view,
    upload_limit_text,
)
from registry.choices import Kind, RiskTier, Stage
from registry.models import Department, ImportMapping, ImportRun
from registry.permissions import Actor
from registry.services.errors import RefusedError
from registry.services.import_mappings import (
    ImportRunProgress,
    import_mapping_save,
    import_run_finish,
    import_run_start,
)
from registry.spreadsheets import builder, imports
from registry.sync import upsert as sync

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 10
RUN_CHUNK_ROWS = 200  # progress is written after each chunk: 15 steps for 3,000 rows
LISTED_ISSUES = 500
SUMMARY_ROWS = 50
# A run writes its progress after every chunk, seconds apart; this long without news, it died.
RUN_STALLED_AFTER = datetime.timedelta(minutes=10)
PHASE_LABELS = {
    "": gettext_lazy("Starting"),
    "reading": gettext_lazy("Reading"),
    "checking": gettext_lazy("Checking"),
    "importing": gettext_lazy("Importing"),
    "finished": gettext_lazy("Finished"),
}


class BuilderUploadForm(forms.Form):
    required_css_class = "required"

    file = forms.FileField(
        label=gettext_lazy("Spreadsheet"),
        help_text=gettext_lazy(
            "Any CSV (UTF-8 or Windows-1252) or XLSX: a Jira or ServiceNow export, an Excel "
            "inventory, a federal layout."
        ),
    )
    sheet = forms.CharField(
        label=gettext_lazy("Worksheet"),
        required=False,
        max_length=100,
        help_text=gettext_lazy("For an XLSX workbook: the sheet to read; the first if empty."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(UPLOAD_EXTENSIONS):
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(upload_limit_text())
        return upload


def read_upload(upload: dict[str, Any]) -> imports.Table:
    """The waiting file as a table; ImportFileError (or UnicodeDecodeError) if unreadable."""
    table = imports.read_table(
        file_bytes(upload), filename=upload["filename"], sheet=upload.get("sheet", "")
    )
    if not table.rows:
        raise imports.ImportFileError(_("The sheet has a header row but no data rows."))
    return table


@require_http_methods(["GET", "POST"])
def builder_start(request: HttpRequest) -> HttpResponse:
    """Upload the spreadsheet to build a mapping for."""
    form = BuilderUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read()
        sheet = form.cleaned_data["sheet"]
        try:
            builder.check_readable(data, filename=upload.name)
            table = imports.read_table(data, filename=upload.name, sheet=sheet)
            if not table.rows:
                raise imports.ImportFileError(_("The sheet has a header row but no data rows."))
        except imports.ImportFileError as error:
            form.add_error("file", str(error))
        except UnicodeDecodeError:
            form.add_error("file", _("The file's text encoding cannot be read."))
        else:
            token = keep_upload(request, data, filename=upload.name, sheet=sheet, builder=True)
            return HttpResponseRedirect(reverse("registry_import:builder", args=[token]))
    return render(
        request,
        "registry/import/builder_start.html",
        page_context(
            request,
            _("Build a mapping"),
            form=form,
            max_bytes=max_upload_bytes(),
            limit_text=upload_limit_text(),
        ),
    )


# --- the builder's page -------------------------------------------------------------------


def _default_choices(
    profiles: list[builder.ColumnProfile], filename: str
) -> builder.BuilderChoices:
    stem = slugify(PurePath(filename).stem)[:60] or "spreadsheet"
    columns = {p.suggestion: p.name for p in profiles if p.suggestion and p.suggestion != "id"}
    id_columns = [p.name for p in profiles if p.suggestion == "id"]
    choices = builder.BuilderChoices(
        title=stem, source=stem, columns=columns, id_columns=id_columns
    )
    for field_name in builder.VALUE_MAP_FIELDS:
        column = columns.get(field_name)
        if column:
            words = builder.value_map_words(profiles, column)
            choices.value_maps[field_name] = builder.suggested_value_map(field_name, words)
    return choices


def _posted_choices(
    request: HttpRequest, profiles: list[builder.ColumnProfile], errors: list[str]
) -> builder.BuilderChoices:
    post = request.POST
    columns: dict[str, str] = {}
    id_columns: list[str] = []
    for index, profile in enumerate(profiles):
        target = post.get(f"field-{index}", "")
        if target == "id":
            id_columns.append(profile.name)
        elif target in builder.FIELD_LABELS:
            if target in columns:
                errors.append(
                    _("%(field)s is chosen for two columns: %(a)s and %(b)s.")
                    % {
                        "field": builder.FIELD_LABELS[target],
                        "a": columns[target],
                        "b": profile.name,
                    }
                )
            columns.setdefault(target, profile.name)
    choices = builder.BuilderChoices(
        title=post.get("name", "").strip()[:80],
        source=slugify(post.get("source", ""))[:100],
        columns=columns,
        id_columns=id_columns,
    )
    for field_name in builder.VALUE_MAP_FIELDS:
        column = columns.get(field_name)
        if not column:
            continue
        words = builder.value_map_words(profiles, column)
        suggested = builder.suggested_value_map(field_name, words)
        # A column changed since the last post: its words are new, so start from suggestions.
        same_column = post.get(f"map-{field_name}-column") == column
        choices.value_maps[field_name] = {
            word: post.get(f"map-{field_name}-{index}", "") if same_column else suggested[word]
            for index, word in enumerate(words)
        }
    if not choices.source:
        errors.append(_("Give a source: the sync source the initiatives belong to."))
    if "name" not in columns:
        errors.append(_("Choose the column that holds the initiatives' names."))
    return choices


def _target_options(field_name: str) -> list[tuple[str, Any]]:
    if field_name == "lead_department":
        return [
            (builder.NEW_DEPARTMENT, _("(create a department of this name)")),
            (builder.LEAVE_BLANK, _("(leave unset)")),
            *Department.objects.order_by("name").values_list("slug", "name"),
        ]
    vocabulary = {"stage": Stage, "kind": Kind, "risk_tier": RiskTier}[field_name]
    empty = _("(other)") if field_name == "kind" else _("(not mapped: warn, leave unset)")
    return [("", empty), (builder.LEAVE_BLANK, _("(leave unset)")), *vocabulary.choices]


def _value_map_blocks(
    choices: builder.BuilderChoices, profiles: list[builder.ColumnProfile]
) -> list[dict[str, Any]]:
    blocks = []
    for field_name, words in choices.value_maps.items():
        column = choices.columns[field_name]
        profile = next(p for p in profiles if p.name == column)
        blocks.append(
            {
                "field": field_name,
                "label": builder.FIELD_LABELS[field_name],
                "column": column,
                "options": _target_options(field_name),
                "words": [
                    (index, word, target) for index, (word, target) in enumerate(words.items())
                ],
                "more": max(0, profile.distinct_count - len(words)),
            }
        )
    return blocks


def _column_rows(
    choices: builder.BuilderChoices, profiles: list[builder.ColumnProfile]
) -> list[dict[str, Any]]:
    chosen = {column: field_name for field_name, column in choices.columns.items()}
    return [
        {
            "index": index,
            "profile": profile,
            "selected": "id"
            if profile.name in choices.id_columns
            else chosen.get(profile.name, ""),
            "suggestion_label": builder.FIELD_LABELS.get(profile.suggestion)
            or (_("Id") if profile.suggestion == "id" else ""),
        }
        for index, profile in enumerate(profiles)
    ]


def _display(name: str, value: Any) -> str:
    """A stored value as the reader reads it: a choice by its label, an owner by name."""
    choices = imports.CHOICE_CLASSES.get(name)
    if choices is not None and isinstance(value, str) and value in choices.values:
        return str(choices(value).label)
    if isinstance(value, dict):
        return f"{value.get('name', '')} <{value.get('email', '')}>"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _preview(
    request: HttpRequest, table: imports.Table, mapping: imports.ImportMapping, source: str
) -> dict[str, Any]:
    """The first rows through a dry run: as they would be stored, with every warning."""
    head = imports.Table(
        headers=table.headers,
        rows=table.rows[:PREVIEW_ROWS],
        file_format=table.file_format,
        encoding=table.encoding,
    )
    report = imports.import_table(
        head,
        mapping=mapping,
        source=source,
        actor=request.user,
        actor_name=request.user.get_username(),
        dry_run=True,
    )
    # Departments by name, those the import would create included (the dry run rolled back).
    departments = dict(Department.objects.values_list("slug", "name"))
    departments |= {imports.department_slug(n): n for n in report.departments_created}
    shown = [name for name in imports.IMPORTABLE_FIELDS if name in mapping.fields]
    order = list(builder.FIELD_LABELS)
    shown.sort(key=lambda name: order.index(name) if name in order else len(order))
    return {
        "fields": [field_label(name) for name in shown],
        "rows": [
            {
                **row_view(outcome.as_dict()),
                "values": [
                    departments.get(value, value)
                    if name == "lead_department" and isinstance(value, str)
                    else _display(name, value)
                    for name in shown
                    for value in [outcome.item.get(name)]
                ],
                "issues": [
                    {"field": field_label(issue.field), "message": issue.message}
                    for issue in [*outcome.errors, *outcome.warnings]
                ],
            }
            for outcome in report.rows
        ],
    }


def _dry_run(
    request: HttpRequest, table: imports.Table, mapping: imports.ImportMapping, source: str
) -> dict[str, Any]:
    report = imports.import_table(
        table,
        mapping=mapping,
        source=source,
        actor=request.user,
        actor_name=request.user.get_username(),
        dry_run=True,
    )
    return {
        "report": report,
        "counts": report.counts(),
        "rejections": labelled(report.rejections()[:LISTED_ISSUES]),
        "warnings": labelled(report.warnings()[:LISTED_ISSUES]),
    }


def field_label(name: str) -> str:
    return str({**builder.FIELD_LABELS, "owner": _("Owner")}.get(name, name))


def labelled(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Issues with the field named as the page names it, in the reader's language."""
    return [{**issue, "field": field_label(issue.get("field") or "")} for issue in issues]


@require_http_methods(["GET", "POST"])
def builder_edit(request: HttpRequest, token: str) -> HttpResponse:
    """Columns, suggestions and value maps; preview, dry run, run and save from one form."""
    upload = pending_upload(request, token, builder=True)
    try:
        table = read_upload(upload)
    except (imports.ImportFileError, UnicodeDecodeError) as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(reverse("registry_import:builder-start"))
    profiles = builder.profile_table(table)
    errors: list[str] = []
    action = request.POST.get("action", "") if request.method == "POST" else ""
    if request.method == "POST":
        choices = _posted_choices(request, profiles, errors)
    else:
        choices = _default_choices(profiles, upload["filename"])
    choices.sheet = upload.get("sheet", "")
    yaml_text = builder.build_yaml(choices)
    mapping = None
    try:
        mapping = builder.parse_built(yaml_text, slug=slugify(choices.title) or "builder")
    except imports.MappingError as error:
        errors.append(str(error))
    extra: dict[str, Any] = {}
    if action and mapping is not None and not errors:
        try:
            if action == "preview":
                extra["preview"] = _preview(request, table, mapping, choices.source)
            elif action == "dry_run":
                extra["dry_run"] = _dry_run(request, table, mapping, choices.source)
            elif action == "run":
                run = _start_run(
                    request, upload, yaml_text, choices, atomic="atomic" in request.POST
                )
                return HttpResponseRedirect(reverse("registry_import:run", args=[run.token]))
            elif action == "save":
                # Replacing the saved mapping of this name is asked for, never assumed.
                replaced = (
                    ImportMapping.objects.filter(name=slugify(choices.title)).first()
                    if "replace" in request.POST
                    else None
                )
                saved = import_mapping_save(
                    actor=Actor(user=request.user),
                    name=choices.title,
                    yaml_text=yaml_text,
                    mapping=replaced,
                    **builder.mapping_rules(slugify(choices.title)),
                )
                messages.success(
                    request,
                    _(
                        "Saved the mapping '%(name)s': import with it here or with manage.py "
                        "import_initiatives FILE --mapping %(name)s."
                    )
                    % {"name": saved.name},
                )
        except RefusedError as error:
            errors.append(error.message)
        except (imports.ImportFileError, imports.MappingError, sync.SyncError) as error:
            errors.append(str(error))
    return render(
        request,
        "registry/import/builder.html",
        page_context(
            request,
            _("Build a mapping for %(file)s") % {"file": upload["filename"]},
            token=token,
            upload=upload,
            table=table,
            choices=choices,
            columns=_column_rows(choices, profiles),
            field_options=[
                ("", _("(not imported)")),
                ("id", _("Id")),
                *builder.FIELD_LABELS.items(),
            ],
            value_maps=_value_map_blocks(choices, profiles),
            yaml_text=yaml_text,
            errors=errors,
            atomic=request.method == "GET" or "atomic" in request.POST,
            preview_rows=PREVIEW_ROWS,
            **extra,
        ),
    )


# --- running an import with a progress display --------------------------------------------


def _summary(report: imports.ImportReport) -> dict[str, Any]:
    summary = report.as_dict()
    summary["rejections"] = summary["rejections"][:LISTED_ISSUES]
    summary["warnings"] = summary["warnings"][:LISTED_ISSUES]
    summary["rows"] = [row.as_dict() for row in report.rows[:SUMMARY_ROWS]]
    summary["gate_gap_labels"] = report.gate_gap_labels()
    summary["failed"] = report.failed
    return summary


def run_import(run: ImportRun, data: bytes, mapping: imports.ImportMapping, **options: Any) -> None:
    """Import the file, writing progress to the run and its report at the end."""
    progress = ImportRunProgress(run)
    try:
        report = imports.import_file(
            data, mapping=mapping, chunk_size=RUN_CHUNK_ROWS, progress=progress, **options
        )
    except (imports.ImportFileError, imports.MappingError, sync.SyncError) as error:
        import_run_finish(run=run, error=str(error))
    except Exception:
        logger.exception("The import of run %s failed", run.token)
        import_run_finish(run=run, error=_("The import failed unexpectedly; nothing was written."))
        raise
    else:
        import_run_finish(run=run, report=_summary(report), rows=len(report.rows))
    finally:
        progress.close()


def _in_background(*args: Any, **kwargs: Any) -> None:
    try:
        # A failure is logged by run_import and shown on the run page; nothing to re-raise to.
        with contextlib.suppress(Exception):
            run_import(*args, **kwargs)
    finally:
        connections.close_all()  # this thread's own connections


def _start_run(
    request: HttpRequest,
    upload: dict[str, Any],
    yaml_text: str,
    choices: builder.BuilderChoices,
    *,
    atomic: bool,
) -> ImportRun:
    run = import_run_start(
        actor=Actor(user=request.user), token=secrets.token_urlsafe(16), filename=upload["filename"]
    )
    mapping = builder.parse_built(yaml_text, slug=slugify(choices.title) or "builder")
    options = {
        "source": choices.source,
        "filename": upload["filename"],
        "actor": request.user,
        "actor_name": request.user.get_username(),
        "atomic": atomic,
    }
    if settings.REGISTRY_IMPORT_IN_BACKGROUND:
        # The run row must be committed before the thread (another connection) reads it.
        transaction.on_commit(
            lambda: threading.Thread(
                target=_in_background,
                args=(run, file_bytes(upload), mapping),
                kwargs=options,
                name=f"import-{run.token}",
                daemon=True,
            ).start()
        )
    else:
        run_import(run, file_bytes(upload), mapping, **options)
    return run


def _own_run(request: HttpRequest, token: str) -> ImportRun:
    run = ImportRun.objects.filter(token=token, created_by=request.user).first()
    if run is None:
        raise Http404(_("No import run with this token is yours."))
    return run


def _status(run: ImportRun) -> dict[str, Any]:
    if (
        run.status == ImportRun.Status.RUNNING
        and timezone.now() - run.updated_at > RUN_STALLED_AFTER
    ):
        # Its process ended mid-run (a restart): the import's one transaction was rolled back.
        run.status = ImportRun.Status.FAILED
        run.error = _(
            "The import stopped without finishing (the server restarted). An all-or-nothing "
            "import wrote nothing; otherwise the rows before it stopped were written. Start it "
            "again: rows already imported are updated, never duplicated."
        )
    return {
        "status": run.status,
        "phase": run.phase,
        "phase_label": str(PHASE_LABELS.get(run.phase, run.phase)),
        "done": run.done,
        "total": run.total,
        "percent": round(100 * run.done / run.total) if run.total else 0,
        "error": run.error,
    }


@require_http_methods(["GET"])
def run_page(request: HttpRequest, token: str) -> HttpResponse:
    """The run's progress while it runs (the page polls), its summary when it is done."""
    run = _own_run(request, token)
    summary = run.report or {}
    return render(
        request,
        "registry/import/builder_run.html",
        page_context(
            request,
            _("Import of %(file)s") % {"file": run.filename},
            run=run,
            status=_status(run),
            summary=summary,
            counts=summary.get("counts", {}),
            rows=[row_view(row) for row in summary.get("rows", [])],
            rejections=labelled(summary.get("rejections", [])),
            warnings=labelled(summary.get("warnings", [])),
            status_url=reverse("registry_import:run-status", args=[run.token]),
        ),
    )


@require_http_methods(["GET"])
def run_status(request: HttpRequest, token: str) -> JsonResponse:
    """How far the run is, as JSON for the run page's poll."""
    return JsonResponse(_status(_own_run(request, token)))
