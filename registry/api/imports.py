"""`POST /imports/`: a spreadsheet (CSV or XLSX) uploaded, mapped and imported; the answer is
the import report, the same one `manage.py import_initiatives --json` prints.

Only this endpoint takes multipart: a file is no JSON. The rows go through
`registry.spreadsheets.imports` and from there through sync, so an imported initiative obeys
the rules of a synced one, and who may import is who may sync: the PMO (any source), or an
integration whose token belongs to the source (its own, by default). Tags the file names
are created only when the mapping allows it and the actor may create tags.

An all-or-nothing import with a rejected row writes nothing and answers 400 with the
standard error shape (one error per rejected cell, `attr` = `rows.<row>.<field>`) plus the
report; anything else — written, a dry run, or good rows kept with `atomic=false` — is a
200 with the report.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, parsers, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from registry import permissions as rules
from registry.api.core.authentication import request_actor, request_token
from registry.api.core.errors import RequestErrorEnum
from registry.api.core.permissions import RegistryPermission
from registry.api.core.viewsets import actor_name
from registry.spreadsheets import imports
from registry.sync import upsert as sync

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
OUTCOMES = ("created", "updated", "unchanged", "rejected", "duplicate", "not_written")


def mapping_choices() -> list[str]:
    return [path.stem for path in sorted(imports.MAPPINGS_DIR.glob("*.yaml"))]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("The CSV or XLSX file."))
    mapping = serializers.ChoiceField(
        choices=[], help_text=_("A shipped mapping, e.g. us-federal-2025.")
    )
    source = serializers.CharField(
        required=False,
        max_length=60,
        help_text=_("Sync source (default: the token's source, else the mapping's)."),
    )
    dry_run = serializers.BooleanField(
        default=False, help_text=_("Report what would happen; write nothing.")
    )
    atomic = serializers.BooleanField(
        default=True, help_text=_("All rows or none (default); false keeps the good rows.")
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mapping"].choices = mapping_choices()

    def validate_file(self, value: Any) -> Any:
        if value.size > MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(
                _("The file is larger than %(max)d MB.") % {"max": MAX_UPLOAD_BYTES // 2**20},
                code="too_large",
            )
        return value


class ImportCountsSerializer(serializers.Serializer):
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    rejected = serializers.IntegerField()
    duplicates = serializers.IntegerField(help_text=_("Identical to an earlier row; skipped."))
    not_written = serializers.IntegerField(
        help_text=_("Fine, but an all-or-nothing import was refused.")
    )
    derived_ids = serializers.IntegerField()
    owners_left_unset = serializers.IntegerField()


class ImportNoticeSerializer(serializers.Serializer):
    code = serializers.CharField(help_text=_("e.g. date_order."))
    message = serializers.CharField()
    rows = serializers.ListField(child=serializers.IntegerField())


class ImportIssueGroupSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_("The cause, e.g. time_dropped, id_collision, name_fallback, left_blank.")
    )
    field = serializers.CharField()
    column = serializers.CharField()
    count = serializers.IntegerField()
    rows = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("The first rows (at most 10).")
    )
    example = serializers.CharField()


class ImportIssueSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text=_("As a spreadsheet program numbers it."))
    external_id = serializers.CharField(allow_blank=True)
    field = serializers.CharField(allow_blank=True)
    column = serializers.CharField(allow_blank=True)
    code = serializers.CharField()
    message = serializers.CharField()


class ImportDuplicateSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    external_id = serializers.CharField()
    duplicate_of = serializers.IntegerField()


class ImportReportSerializer(serializers.Serializer):
    """What an import did (or would do), with every adjustment and refusal."""

    source = serializers.CharField()
    mapping = serializers.CharField()
    filename = serializers.CharField(allow_blank=True)
    file_format = serializers.ChoiceField(choices=["csv", "xlsx"])
    encoding = serializers.CharField(
        allow_blank=True, help_text=_("As detected: utf-8, utf-8-sig, cp1252, …")
    )
    dry_run = serializers.BooleanField()
    atomic = serializers.BooleanField()
    written = serializers.BooleanField()
    counts = ImportCountsSerializer()
    blank_rows = serializers.IntegerField()
    tags_created = serializers.ListField(child=serializers.CharField())
    departments_created = serializers.ListField(child=serializers.CharField())
    gate_gaps = serializers.DictField(child=serializers.IntegerField())
    notices = ImportNoticeSerializer(many=True)
    rejection_groups = ImportIssueGroupSerializer(many=True)
    warning_groups = ImportIssueGroupSerializer(many=True)
    rejections = ImportIssueSerializer(many=True)
    warnings = ImportIssueSerializer(many=True)
    duplicates = ImportDuplicateSerializer(many=True)


class ImportErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True, help_text=_("rows.<row>.<field>"))


class ImportRefusedSerializer(serializers.Serializer):
    """400: the standard error shape; with the report when the rows were read."""

    type = serializers.ChoiceField(choices=RequestErrorEnum.choices)
    errors = ImportErrorSerializer(many=True)  # type: ignore[assignment]
    report = ImportReportSerializer(required=False)


def requested_source(request: Request) -> str:
    """The source an import writes: asked for, else the token's, else the mapping's."""
    data = request.data
    asked = str(data.get("source") or "").strip() if hasattr(data, "get") else ""
    if asked:
        return asked
    token = request_token(request)
    if token is not None and token.source:
        return str(token.source)
    slug = str(data.get("mapping") or "") if hasattr(data, "get") else ""
    if slug in mapping_choices():
        return imports.load_mapping(slug).default_source
    return ""


class ImportAccess(RegistryPermission):
    """Who may sync the source may import into it: the PMO, or that source's integration."""

    def may_write(self, request: Request, view: Any) -> bool:
        if not (rules.is_pmo(request.user) or rules.is_integration(request.user)):
            # Refused before the body is read: no upload of theirs is ever parsed.
            self.message = gettext_lazy("Only the PMO or an integration imports initiatives.")
            return False
        source = requested_source(request)
        self.message = gettext_lazy(
            "Only the PMO, or the integration whose token belongs to source '%(source)s', "
            "imports its initiatives."
        ) % {"source": source or "—"}
        return rules.can_create_initiative(
            request.user, source=source, token=request_token(request)
        )


@extend_schema(tags=["initiatives"])
class ImportView(APIView):
    """Import a spreadsheet of initiatives."""

    permission_classes = [ImportAccess]
    parser_classes = [parsers.MultiPartParser]

    @extend_schema(
        operation_id="imports_create",
        summary=_("Import a CSV or XLSX file of initiatives"),
        description=_(
            "Multipart: `file`, `mapping` (a shipped mapping), optional `source`, `dry_run`, "
            "`atomic`. Answers the import report: counts per outcome, file-level notices (such "
            "as the order of day and month), every warning and rejection grouped by cause with "
            "the first rows, and each one with its row and column. An all-or-nothing import "
            "with a rejected row writes nothing and answers 400 with the report."
        ),
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            200: ImportReportSerializer,
            400: OpenApiResponse(
                ImportRefusedSerializer,
                description=_("The upload or (atomic) one of its rows was refused."),
            ),
        },
    )
    def post(self, request: Request) -> Response:
        upload = ImportRequestSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        options = upload.validated_data
        mapping = imports.load_mapping(options["mapping"])
        source = requested_source(request) or mapping.default_source
        file = options["file"]
        try:
            report = imports.import_file(
                file.read(),
                mapping=mapping,
                source=source,
                filename=file.name,
                actor=request_actor(request),
                actor_name=actor_name(request),
                dry_run=options["dry_run"],
                atomic=options["atomic"],
            )
        except imports.ImportFileError as error:
            raise exceptions.ValidationError({"file": [str(error)]}, code="invalid") from None
        except sync.SyncError as error:
            raise exceptions.ValidationError(
                {error.attr or "source": [error.message]}, code=error.code
            ) from None
        body = ImportReportSerializer(report.as_dict()).data
        if report.failed:
            errors = [
                {
                    "code": issue["code"],
                    "detail": issue["message"],
                    "attr": f"rows.{issue['row']}.{issue['field']}"
                    if issue["field"]
                    else f"rows.{issue['row']}",
                }
                for issue in report.rejections()
            ]
            return Response(
                {"type": "validation_error", "errors": errors, "report": body},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(body)
