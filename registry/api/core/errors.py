"""One error shape for every 4xx: `{"type": …, "errors": [{"code", "detail", "attr"}]}`.

drf-standardized-errors formats DRF's exceptions; this module teaches it the registry's own
refusals (lifecycle gates → 409, stale ETag → 412, missing If-Match → 428) and turns database
constraint violations into 409/400 with the constraint's message instead of a 500.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError, TextChoices
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import exceptions, serializers, status
from rest_framework.settings import api_settings

from registry.choices import Gate
from registry.i18n.rule_messages import rule_messages
from registry.middleware.resilience import DatabaseUnavailable, is_database_unavailable
from registry.services.errors import ForbiddenError, InvalidError, StateConflictError
from registry.services.lifecycle import StaleVersionError, TransitionError
from registry.services.reviews import ReviewError

# SQLSTATE classes of PostgreSQL's integrity errors.
UNIQUE_VIOLATION = "23505"
FOREIGN_KEY_VIOLATION = "23503"
NOT_NULL_VIOLATION = "23502"
CHECK_VIOLATION = "23514"
# Constraints whose violation means "the stored state forbids this", not "bad input".
CONFLICT_CONSTRAINTS = frozenset({"registry_reviewdecision_frozen_when_closed"})


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The request conflicts with the stored state.")
    default_code = "conflict"

    def __init__(
        self, detail: Any = None, code: str | None = None, *, attr: str | None = None
    ) -> None:
        super().__init__(detail=detail, code=code)
        self.attr = attr


class Forbidden(exceptions.PermissionDenied):
    """A write the actor may not make, naming the field it is about where there is one."""

    def __init__(self, detail: Any = None, code: str | None = None, *, attr: str | None = None):
        super().__init__(detail=detail, code=code)
        self.attr = attr


class TransitionRefused(Conflict):
    """A lifecycle move the gates refuse; `missing` names the evidence still needed."""

    def __init__(self, error: TransitionError) -> None:
        super().__init__(detail=error.message, code=error.code)
        self.missing = list(error.missing)


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "The resource changed since you read it; fetch it again and retry."
    )
    default_code = "precondition_failed"

    def __init__(self, detail: str | None = None, *, current_version: int | None = None) -> None:
        super().__init__(detail=detail)
        self.current_version = current_version


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_detail = gettext_lazy(
        "This server requires an If-Match header with the ETag you read, so that no update is lost."
    )
    default_code = "precondition_required"


def constraint_messages() -> dict[str, str]:
    """Named constraints (and trigger rules) and their message, in the request's language."""
    return rule_messages()


def _database_error_details(exc: Exception) -> tuple[str, str, str, str]:
    """(sqlstate, constraint name, column, message) of a psycopg error behind a Django one."""
    cause = exc.__cause__
    diag = getattr(cause, "diag", None)
    sqlstate = getattr(cause, "sqlstate", "") or ""
    constraint = getattr(diag, "constraint_name", "") or ""
    column = getattr(diag, "column_name", "") or ""
    message = getattr(diag, "message_primary", "") or str(cause or exc)
    return sqlstate, constraint, column, message


def integrity_error_to_api(exc: IntegrityError) -> exceptions.APIException:
    """A violated constraint as 409 (duplicates, frozen records) or 400 (invalid data)."""
    sqlstate, constraint, column, db_message = _database_error_details(exc)
    message = constraint_messages().get(constraint) or db_message
    code = constraint or "integrity_error"
    if sqlstate == UNIQUE_VIOLATION or constraint in CONFLICT_CONSTRAINTS:
        return Conflict(detail=message, code=code)
    if sqlstate == FOREIGN_KEY_VIOLATION:
        return Conflict(detail=db_message, code="foreign_key_violation")
    if sqlstate == NOT_NULL_VIOLATION and column:
        return exceptions.ValidationError({column: [_("This field may not be null.")]}, code="null")
    return exceptions.ValidationError(
        {api_settings.NON_FIELD_ERRORS_KEY: [exceptions.ErrorDetail(message, code=code)]}
    )


def _protected_to_api(exc: ProtectedError | RestrictedError) -> Conflict:
    blockers = sorted({str(obj) for obj in list(exc.args[1])[:5]})
    return Conflict(
        detail=_("Still in use by: %(objects)s. Remove or archive those first.")
        % {"objects": "; ".join(blockers)},
        code="protected",
    )


class RegistryExceptionHandler(ExceptionHandler):
    """Maps the registry's domain and database errors onto DRF exceptions."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if is_database_unavailable(exc):  # 503 + Retry-After, not a 500
            return DatabaseUnavailable()
        if isinstance(exc, TransitionError):
            return TransitionRefused(exc)
        if isinstance(exc, InvalidError):
            return exceptions.ValidationError(
                {exc.field or api_settings.NON_FIELD_ERRORS_KEY: [exc.message]}, code=exc.code
            )
        if isinstance(exc, ForbiddenError):
            return Forbidden(detail=exc.message, code=exc.code, attr=exc.field)
        if isinstance(exc, StateConflictError):
            return Conflict(detail=exc.message, code=exc.code, attr=exc.field)
        if isinstance(exc, ReviewError):
            return Conflict(detail=exc.message, code=exc.code, attr=exc.field)
        if isinstance(exc, StaleVersionError):
            return PreconditionFailed(current_version=exc.current_version)
        if isinstance(exc, ProtectedError | RestrictedError):  # subclasses of IntegrityError
            return _protected_to_api(exc)
        if isinstance(exc, IntegrityError):
            return integrity_error_to_api(exc)
        if isinstance(exc, SuspiciousOperation):  # e.g. over 1,000 query parameters
            return exceptions.ParseError(str(exc))
        if isinstance(exc, DataError):
            return exceptions.ValidationError(
                {api_settings.NON_FIELD_ERRORS_KEY: [str(exc.__cause__ or exc).splitlines()[0]]},
                code="invalid",
            )
        if isinstance(exc, DjangoValidationError):
            detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
            return exceptions.ValidationError(detail)
        return super().convert_known_exceptions(exc)

    def get_headers(self, exc: exceptions.APIException) -> dict:
        headers = super().get_headers(exc)
        current = getattr(exc, "current_version", None)
        if current is not None:
            headers["ETag"] = f'"{current}"'
        return headers


class RegistryExceptionFormatter(ExceptionFormatter):
    """Adds `missing` (the unmet gates) to a refused lifecycle move, and the field a
    conflict is about.
    """

    def format_error_response(self, error_response: Any) -> Any:
        data = super().format_error_response(error_response)
        attr = getattr(self.exc, "attr", None)
        for error in data["errors"]:
            if attr and error.get("attr") is None:
                error["attr"] = attr
            if isinstance(self.exc, TransitionRefused):
                error["missing"] = self.exc.missing
        return data


# --- schema components for the status codes the library does not know --------------------


class ErrorCode412Enum(TextChoices):
    PRECONDITION_FAILED = "precondition_failed"


class ErrorCode428Enum(TextChoices):
    PRECONDITION_REQUIRED = "precondition_required"


class Error409Serializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=gettext_lazy(
            "gate_not_met, transition_not_allowed, archived, protected, conflict, "
            "foreign_key_violation or the name of the violated database constraint."
        )
    )
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)
    missing = serializers.ListField(
        child=serializers.ChoiceField(choices=Gate.choices),
        required=False,
        help_text=gettext_lazy("For gate_not_met: the evidence the move still needs."),
    )


class ErrorResponse409Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error409Serializer(many=True)  # type: ignore[assignment]


class Error412Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode412Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse412Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error412Serializer(many=True)  # type: ignore[assignment]


class Error428Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode428Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse428Serializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error428Serializer(many=True)  # type: ignore[assignment]


class RequestErrorEnum(TextChoices):
    """`type` of a 400: invalid input, or a body that could not be read."""

    VALIDATION_ERROR = "validation_error"
    CLIENT_ERROR = "client_error"


class ErrorSerializer(serializers.Serializer):
    """One error. Codes are an open set (a database rule answers with its constraint's
    name), so they are documented as text, not as an enum a client would have to know.
    """

    code = serializers.CharField()
    detail = serializers.CharField(help_text=gettext_lazy("A message for people."))
    attr = serializers.CharField(
        allow_null=True,
        help_text=gettext_lazy(
            "The field or query parameter the error is about (items.3.name for nested "
            "ones), or null for the request as a whole."
        ),
    )


class ErrorResponse400Serializer(serializers.Serializer):
    """400: an invalid body or query parameter (`validation_error`, one error per field and
    problem; `non_field_errors` for a rule across fields), or a body that is no JSON
    (`client_error`, code `parse_error`).
    """

    type = serializers.ChoiceField(choices=RequestErrorEnum.choices)
    errors = ErrorSerializer(many=True)  # type: ignore[assignment]


class ErrorCode413Enum(TextChoices):
    REQUEST_TOO_LARGE = "request_too_large"


class Error413Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode413Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse413Serializer(serializers.Serializer):
    """The body is larger than REGISTRY_MAX_REQUEST_BYTES."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error413Serializer(many=True)  # type: ignore[assignment]


class ErrorCode503Enum(TextChoices):
    DATABASE_UNAVAILABLE = "database_unavailable"


class Error503Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode503Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse503Serializer(serializers.Serializer):
    """The database is unreachable for a moment; retry after `Retry-After` seconds."""

    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = Error503Serializer(many=True)  # type: ignore[assignment]
