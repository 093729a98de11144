"""The Django admin: the PMO's daily tool for the portfolio.

Thin by design: derived values come from QuerySet annotations, lifecycle moves from
`registry.services.lifecycle`, archiving from `registry.services.archive`. What the admin adds is
presentation
and one safety net: a violation of one of the registry's named database rules (constraints
and the triggers behind "no dependency cycles" or "exactly one primary alignment") is shown
on the form the user submitted, never as a server error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import pgtrigger
from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, router, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registry import permissions
from registry.admin.changelist import LeadDepartmentFilter
from registry.admin.export import ExportActionsMixin
from registry.admin.history import StageJournalGoesWithItsInitiativeMixin, TriggerHistoryMixin
from registry.admin.saved_views import SavedViewFilter
from registry.board.dashboard import ActiveInFilter
from registry.choices import (
    ALIGNMENT_LEVEL_BY_STRENGTH,
    AlignmentLevel,
    Gate,
    JourneyStage,
    ReviewStatus,
    Stage,
    Touchpoint,
)
from registry.i18n.rule_messages import rule_message
from registry.i18n.snapshots import snapshot_rows
from registry.models import (
    Alignment,
    Department,
    Dependency,
    Goal,
    GoalQuerySet,
    Initiative,
    InitiativeQuerySet,
    Measurement,
    Note,
    Person,
    Review,
    ReviewDecision,
    StageChange,
    System,
    Tag,
    TeamRole,
    Vision,
)
from registry.selectors import reports
from registry.selectors.counting import EstimatedCountPaginator
from registry.services import lifecycle, reviews
from registry.services.archive import initiative_archive, initiative_restore

if TYPE_CHECKING:  # mixins below are only ever mixed into these
    _AdminBase = admin.ModelAdmin
    _InlineBase = admin.options.InlineModelAdmin
else:
    _AdminBase = _InlineBase = object

admin.site.site_header = _("AI-CX Portfolio Registry")
admin.site.site_title = _("AI-CX Portfolio")
admin.site.index_title = _("Portfolio administration")
# The stock index with the portfolio dashboard and reviews on top.
admin.site.index_template = "registry/admin_index.html"

ADMIN_CSS = {"all": ("registry/admin.css",)}


# --- named database rules as form errors ------------------------------------------------------


class ConstraintViolation:
    """A refused save: the rule's name, the model it guards and the message for people."""

    def __init__(self, name: str, message: str, model: type | None = None) -> None:
        self.name = name
        self.message = message
        self.model = model or _model_for_constraint(name)
        self.reported = False

    @classmethod
    def from_error(cls, exc: DatabaseError) -> ConstraintViolation | None:
        """The registry rule behind a database error, or None if it is not one of ours."""
        diag = getattr(exc.__cause__, "diag", None)
        name = getattr(diag, "constraint_name", None) or ""
        if not name.startswith("registry_"):
            return None
        # Constraints and trigger-raised rules alike, in the user's language.
        message = rule_message(name)
        return cls(name, message or getattr(diag, "message_primary", None) or str(exc))


def _model_for_constraint(name: str) -> type | None:
    # Rules are named `registry_<model>_<rule>` (CONVENTIONS §Habits 3).
    parts = name.split("_")
    if len(parts) < 3:
        return None
    try:
        return apps.get_model("registry", parts[1])
    except LookupError:
        return None


def _deferred_trigger_uris() -> list[str]:
    return [
        f"{model._meta.label}:{trigger.name}"
        for model, trigger in pgtrigger.registered()
        if trigger.timing and model._meta.app_label == "registry"
    ]


def check_deferred_rules(using: str) -> None:
    """Run the deferred rule triggers now, inside the admin's transaction, then defer again.

    Without this, "exactly one primary alignment" would only be checked at COMMIT, outside
    anything the admin can turn into a form error.
    """
    uris = _deferred_trigger_uris()
    if uris:
        pgtrigger.constraints(pgtrigger.Immediate, *uris, databases=[using])
        pgtrigger.constraints(pgtrigger.Deferred, *uris, databases=[using])


class SaveRefusedError(Exception):
    """Raised by an admin save hook when a domain service refuses the write."""

    def __init__(self, message: str, *, code: str, model: type) -> None:
        super().__init__(message)
        self.violation = ConstraintViolation(code, message, model)


def _violation(exc: Exception) -> ConstraintViolation | None:
    if isinstance(exc, SaveRefusedError):
        return exc.violation
    if isinstance(exc, IntegrityError):
        return ConstraintViolation.from_error(exc)
    return None


VIOLATION_ATTR = "_registry_constraint_violation"


class RegistryAdminForm(forms.ModelForm):
    """Base admin form; shows a rule the database refused on the previous save attempt."""

    registry_violation: ConstraintViolation | None = None

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        violation = self.registry_violation
        if violation is not None and violation.model in (None, self._meta.model):
            violation.reported = True
            raise ValidationError(violation.message, code=violation.name)
        return cleaned


class RegistryInlineFormSet(BaseInlineFormSet):
    """Base inline formset; the first formset of the refused rule's model shows its message."""

    registry_violation: ConstraintViolation | None = None

    def clean(self) -> None:
        super().clean()
        violation = self.registry_violation
        if violation is not None and violation.model is self.model and not violation.reported:
            violation.reported = True
            raise ValidationError(violation.message, code=violation.name)


class ConstraintFeedbackMixin(_AdminBase):
    """Turns a refused save or delete into a form error or message instead of a 500.

    The save runs in the admin's transaction; when the database refuses it, the whole
    attempt is rolled back and the form is shown again with the user's input and the rule's
    message on the form or inline it concerns.
    """

    form = RegistryAdminForm

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        form_class.registry_violation = getattr(  # type: ignore[attr-defined]
            request, VIOLATION_ATTR, None
        )
        return form_class

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (IntegrityError, SaveRefusedError) as exc:
            violation = _violation(exc)
            if violation is None or request.method != "POST":
                raise
        inline_models = {inline.model for inline in self.inlines}
        if violation.model not in inline_models:
            violation.model = self.model
        setattr(request, VIOLATION_ATTR, violation)
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (IntegrityError, SaveRefusedError):
            # The refused rule's form was not on the page (e.g. no permission for that inline).
            self.message_user(request, violation.message, messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        check_deferred_rules(router.db_for_write(self.model))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)
        check_deferred_rules(router.db_for_write(self.model))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        with transaction.atomic(using=router.db_for_write(self.model)):
            super().delete_queryset(request, queryset)
            check_deferred_rules(router.db_for_write(self.model))

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        try:
            return super().delete_view(request, object_id, extra_context)
        except (IntegrityError, SaveRefusedError) as exc:
            violation = _violation(exc)
            if violation is None:
                raise
        self.message_user(request, violation.message, messages.ERROR)
        return HttpResponseRedirect(request.path.rsplit("/delete/", 1)[0] + "/change/")

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):
        try:
            return super().changelist_view(request, extra_context)
        except (IntegrityError, SaveRefusedError) as exc:
            violation = _violation(exc)
            if violation is None:
                raise
        self.message_user(request, violation.message, messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())


class RegistryInline(_InlineBase):
    """Inline base: shows a refused rule on the formset it concerns."""

    formset = RegistryInlineFormSet
    extra = 0

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs):
        formset_class = super().get_formset(request, obj, **kwargs)
        formset_class.registry_violation = getattr(  # type: ignore[attr-defined]
            request, VIOLATION_ATTR, None
        )
        return formset_class


class RegistryModelAdmin(TriggerHistoryMixin, ConstraintFeedbackMixin, admin.ModelAdmin):
    """Base for every registry model admin."""

    list_per_page = 50
    show_full_result_count = True

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """Bump versions of edited versioned rows; stamp the author of new notes."""
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        changed = {id(obj) for obj, _fields in formset.changed_objects}
        for obj in instances:
            if obj.pk is not None and id(obj) in changed and _has_field(obj, "version"):
                obj.version += 1
            if obj.pk is None and isinstance(obj, Note) and obj.author_id is None:
                obj.author = editor(request)
            obj.save()
        formset.save_m2m()


def editor(request: HttpRequest) -> Any:
    """The signed-in user behind an admin request (admin views require one)."""
    return request.user


def _has_field(obj: Any, name: str) -> bool:
    return any(field.name == name for field in obj._meta.concrete_fields)


# --- who may write an initiative --------------------------------------------------------------


def can_write_initiative(user: Any, initiative: Initiative | None) -> bool:
    """The role rule of `registry.permissions`, on top of the admin's model permission.

    Cached on the initiative: the change page asks once per inline and button.
    """
    if not user.has_perm("registry.change_initiative"):
        return False
    if initiative is None or initiative.pk is None:
        return True
    cache = initiative.__dict__.setdefault("_registry_writable", {})
    if user.pk not in cache:
        cache[user.pk] = permissions.can_change_initiative(user, initiative)
    return cache[user.pk]


def visible_initiatives(request: HttpRequest) -> QuerySet:
    return Initiative.objects.visible_to(request.user)


class InitiativePartAdminMixin(_AdminBase):
    """Rows that belong to an initiative: hidden with it, writable where it is.

    `initiative_paths` are the initiatives a row belongs to (for visibility); `write_path`
    is the one whose write permission the row follows.
    """

    initiative_paths: tuple[str, ...] = ("initiative",)
    write_path: str | None = "initiative"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if permissions.is_pmo(request.user):
            return queryset
        visible = visible_initiatives(request).values("pk")
        condition = Q()
        for field_path in self.initiative_paths:
            field = self.model._meta.get_field(field_path)
            part = Q(**{f"{field_path}__in": visible})
            if field.null:
                part |= Q(**{f"{field_path}__isnull": True})
            condition &= part
        return queryset.filter(condition)

    def may_write(self, request: HttpRequest, obj: Any) -> bool:
        if self.write_path is None or permissions.is_pmo(request.user):
            return True
        initiative = getattr(obj, self.write_path, None)
        return initiative is not None and can_write_initiative(request.user, initiative)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or self.may_write(request, obj)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or self.may_write(request, obj)
        )

    def save_model(self, request: HttpRequest, obj: Any, form, change: bool) -> None:
        if not self.may_write(request, obj):
            raise SaveRefusedError(
                str(_("You may only change initiatives you own or are responsible for.")),
                code="not_your_initiative",
                model=self.model,
            )
        super().save_model(request, obj, form, change)


class InitiativeChildInline(RegistryInline):
    """An inline on the initiative page: writable only where the initiative is."""

    def _parent_writable(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or can_write_initiative(request.user, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._parent_writable(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._parent_writable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._parent_writable(request, obj)


# --- overlaps: "join or justify" ---------------------------------------------------------------


def _overlap_reason(reason: dict[str, Any]) -> str:
    if reason.get("rule") == reports.RULE_KIND_TOUCHPOINT_JOURNEY:
        return str(
            _("same kind, touchpoint %(touchpoint)s and journey stage %(journey)s")
            % {
                "touchpoint": _label(Touchpoint, reason.get("touchpoint")),
                "journey": _label(JourneyStage, reason.get("journey_stage")),
            }
        )
    return str(
        _("goal %(goal)s and system %(system)s")
        % {"goal": reason.get("goal"), "system": reason.get("system")}
    )


def _label(vocabulary: Any, value: Any) -> str:
    try:
        return str(vocabulary(value).label)
    except ValueError:
        return str(value)


def overlaps_html(overlaps: list[dict[str, Any]]) -> str:
    """Each overlapping open initiative of another department, with why it overlaps."""
    changelist = reverse("admin:registry_initiative_changelist")
    return format_html(
        '<ul class="registry-overlaps">{}</ul>',
        format_html_join(
            "",
            '<li><a href="{}?q={}">{} · {}</a> ({}): {}</li>',
            (
                (
                    changelist,
                    row["key"],
                    row["key"],
                    row["name"],
                    row["lead_department_name"],
                    "; ".join(_overlap_reason(reason) for reason in row["reasons"]),
                )
                for row in overlaps
            ),
        ),
    )


# --- badges -----------------------------------------------------------------------------------


def alignment_badge(level: str | None) -> str:
    level = level or AlignmentLevel.NONE
    return format_html(
        '<span class="registry-badge registry-badge--{}">{}</span>',
        level,
        AlignmentLevel(level).label,
    )


# --- organisation -----------------------------------------------------------------------------


@admin.register(Department)
class DepartmentAdmin(RegistryModelAdmin):
    list_display = ("name", "slug", "function")
    list_filter = ("function",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")


@admin.register(Person)
class PersonAdmin(RegistryModelAdmin):
    list_display = ("name", "email", "department", "title", "user")
    list_filter = (("department", admin.RelatedOnlyFieldListFilter),)
    list_select_related = ("department", "user")
    search_fields = ("name", "email", "title")
    autocomplete_fields = ("department", "user")
    readonly_fields = ("created_at", "updated_at")


@admin.register(System)
class SystemAdmin(RegistryModelAdmin):
    list_display = (
        "name",
        "category",
        "owner_department",
        "vendor",
        "contains_personal_data",
    )
    list_filter = (
        "category",
        "contains_personal_data",
        ("owner_department", admin.RelatedOnlyFieldListFilter),
    )
    list_select_related = ("owner_department",)
    search_fields = ("name", "slug", "vendor")
    autocomplete_fields = ("owner_department",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")


@admin.register(Tag)
class TagAdmin(RegistryModelAdmin):
    list_display = ("name", "initiative_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(initiative_total=Count("initiatives"))

    @admin.display(description=_("initiatives"), ordering="initiative_total")
    def initiative_count(self, obj: Tag) -> int:
        return getattr(obj, "initiative_total", 0)


# --- strategy ---------------------------------------------------------------------------------


@admin.register(Vision)
class VisionAdmin(RegistryModelAdmin):
    list_display = ("title", "status", "horizon_start", "horizon_end", "executive_sponsor")
    list_filter = ("status",)
    list_select_related = ("executive_sponsor",)
    search_fields = ("title", "statement")
    autocomplete_fields = ("executive_sponsor",)
    readonly_fields = ("created_at", "updated_at")


class MeasurementInline(RegistryInline, admin.TabularInline):
    model = Measurement
    fields = ("observed_on", "value", "source", "note")
    ordering = ("-observed_on",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("goal")


def _number(value: Decimal) -> str:
    """`20` rather than `20.0000` or `2E+1`."""
    return format(value.normalize(), "f")


@admin.register(Goal)
class GoalAdmin(RegistryModelAdmin):
    list_display = (
        "code",
        "title",
        "vision",
        "metric",
        "baseline_value",
        "current_value",
        "target_value",
        "progress_percent",
        "target_date",
    )
    list_filter = ("vision__status", "vision", "metric", "direction", "theme")
    list_select_related = ("vision",)
    search_fields = ("code", "title", "theme")
    autocomplete_fields = ("vision", "parent", "owner")
    inlines = (MeasurementInline,)
    fieldsets = (
        (None, {"fields": ("vision", "parent", "code", "title", "theme", "owner", "weight")}),
        (
            _("Metric"),
            {
                "fields": (
                    "metric",
                    "unit",
                    "direction",
                    ("baseline", "baseline_date"),
                    ("target", "target_date"),
                    ("current_value", "progress_percent"),
                )
            },
        ),
        (
            _("Record"),
            {
                "classes": ("collapse",),
                "fields": ("version", "archived_at", "created_at", "updated_at"),
            },
        ),
    )
    readonly_fields = (
        "current_value",
        "progress_percent",
        "version",
        "archived_at",
        "created_at",
        "updated_at",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return cast(GoalQuerySet, super().get_queryset(request)).with_progress()

    @admin.display(description=_("baseline"), ordering="baseline")
    def baseline_value(self, obj: Goal) -> str:
        return f"{_number(obj.baseline)} {obj.unit}"

    @admin.display(description=_("target"), ordering="target")
    def target_value(self, obj: Goal) -> str:
        return f"{_number(obj.target)} {obj.unit}"

    @admin.display(description=_("current"), ordering="current")
    def current_value(self, obj: Goal) -> Any:
        current = getattr(obj, "current", None)
        if current is None:
            return "–"
        observed_on = getattr(obj, "current_on", "")
        return format_html("{} {} <small>({})</small>", _number(current), obj.unit, observed_on)

    @admin.display(description=_("progress"), ordering="progress")
    def progress_percent(self, obj: Goal) -> str:
        progress = getattr(obj, "progress", None)
        if progress is None:
            return "–"
        return f"{progress * 100:.0f} %"

    def save_model(self, request: HttpRequest, obj: Goal, form, change: bool) -> None:
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(Measurement)
class MeasurementAdmin(RegistryModelAdmin):
    list_display = ("goal", "observed_on", "value", "source")
    list_filter = (("goal", admin.RelatedOnlyFieldListFilter), "observed_on")
    list_select_related = ("goal",)
    search_fields = ("goal__code", "goal__title", "source")
    autocomplete_fields = ("goal",)
    date_hierarchy = "observed_on"
    readonly_fields = ("created_at",)


# --- initiatives: changelist filters ----------------------------------------------------------


class AlignmentLevelFilter(admin.SimpleListFilter):
    """Strongest alignment to a goal of the active vision; `none` is the fragmentation."""

    title = _("alignment level")
    parameter_name = "alignment"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(AlignmentLevel.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        strengths = {
            str(level): strength for strength, level in ALIGNMENT_LEVEL_BY_STRENGTH.items()
        }
        if value not in strengths:
            raise IncorrectLookupParameters(value)
        # Semi-joins (same rule as the annotation): the page stops early, no per-row subquery.
        return cast(InitiativeQuerySet, queryset).alignment_level_in([value])


class AlignedGoalFilter(admin.SimpleListFilter):
    """Initiatives aligned (at any strength) to one goal."""

    title = _("aligned to goal")
    parameter_name = "goal"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        goals = Goal.objects.live().order_by("code").only("pk", "code", "title")
        return [(str(goal.pk), str(goal)) for goal in goals]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if not value.isdigit():
            raise IncorrectLookupParameters(value)
        aligned = Alignment.objects.filter(initiative=OuterRef("pk"), goal_id=int(value))
        return queryset.filter(Exists(aligned))


class TouchpointFilter(admin.SimpleListFilter):
    title = _("touchpoint")
    parameter_name = "touchpoint"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(Touchpoint.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if value not in Touchpoint.values:
            raise IncorrectLookupParameters(value)
        return queryset.filter(touchpoints__contains=[value])


class ArchivedFilter(admin.SimpleListFilter):
    """Live initiatives by default; archived ones only when asked for."""

    title = _("archived")
    parameter_name = "archived"
    DEFAULT = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("live", _("Live")), ("archived", _("Archived")), ("all", _("All"))]

    def choices(self, changelist: Any):
        current = self.value() or self.DEFAULT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or self.DEFAULT
        if value == "live":
            return queryset.filter(archived_at__isnull=True)
        if value == "archived":
            return queryset.filter(archived_at__isnull=False)
        if value == "all":
            return queryset
        raise IncorrectLookupParameters(value)


# --- initiatives: change form -----------------------------------------------------------------


class InitiativeAdminForm(RegistryAdminForm):
    """Checkbox lists for the vocabularies, and a guard against overwriting newer edits."""

    touchpoints = forms.TypedMultipleChoiceField(
        label=_("touchpoints"),
        choices=Touchpoint.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    journey_stages = forms.TypedMultipleChoiceField(
        label=_("journey stages"),
        choices=JourneyStage.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    loaded_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "customer_segments" in self.fields:
            self.fields["customer_segments"].help_text = _("Comma-separated, e.g. retail, SME.")
        if self.instance.pk is not None:
            self.fields["loaded_version"].initial = self.instance.version

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        loaded = cleaned.get("loaded_version")
        if self.instance.pk is not None and loaded is not None:
            # Locks the row until the admin's transaction ends, so the check holds for the save.
            current = (
                Initiative.objects.select_for_update()
                .filter(pk=self.instance.pk)
                .values_list("version", flat=True)
                .first()
            )
            if current is not None and current != loaded:
                raise ValidationError(
                    _(
                        "Someone changed this initiative while you were editing it (now "
                        "version %(current)s, you started from %(loaded)s). Open it again "
                        "to see their changes, then redo yours."
                    ),
                    code="stale",
                    params={"current": current, "loaded": loaded},
                )
        return cleaned


class StageMoveForm(forms.Form):
    """The change page's "move to stage" control; the lifecycle module decides."""

    to_stage = forms.ChoiceField(label=_("Move to"), choices=Stage.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Why the move; required for pausing, stopping and resuming."),
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, initiative: Initiative, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.next_stages = lifecycle.next_stages(initiative)
        # Validation accepts any stage so that an illegal move gets the lifecycle's message.
        self.fields["to_stage"].widget.choices = [
            (stage, _move_label(initiative, stage)) for stage in self.next_stages
        ]
        self.fields["version"].initial = initiative.version


def _move_label(initiative: Initiative, stage: str) -> str:
    """`Approved (needs a primary alignment …)`: what the gate will ask for, before asking."""
    move = lifecycle.allowed_move(initiative, stage)
    label = str(Stage(stage).label)
    if move is None:
        return label
    hints = []
    missing = lifecycle.missing_evidence(initiative, [g for g in move.gates if g != Gate.NOTE])
    if missing:
        hints.append(
            _("needs %(evidence)s")
            % {"evidence": ", ".join(str(Gate(gate).label) for gate in missing)}
        )
    if Gate.NOTE in move.gates:
        hints.append(str(_("note required")))
    return f"{label} ({'; '.join(hints)})" if hints else label


class AlignmentInline(InitiativeChildInline, admin.TabularInline):
    model = Alignment
    fields = ("goal", "strength", "is_primary", "expected_impact", "rationale")
    autocomplete_fields = ("goal",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("goal")


class TeamRoleInline(InitiativeChildInline, admin.TabularInline):
    model = TeamRole
    fields = ("person", "role")
    autocomplete_fields = ("person",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("person")


class DependencyInline(InitiativeChildInline, admin.TabularInline):
    model = Dependency
    fk_name = "from_initiative"
    fields = ("to_initiative", "note")
    autocomplete_fields = ("to_initiative",)
    verbose_name = _("dependency (this initiative needs …)")
    verbose_name_plural = _("dependencies (this initiative needs …)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("to_initiative")


class DependentInline(RegistryInline, admin.TabularInline):
    """Read-only: who needs this initiative."""

    model = Dependency
    fk_name = "to_initiative"
    fields = ("from_initiative", "note")
    readonly_fields = ("from_initiative", "note")
    can_delete = False
    verbose_name = _("dependent (needs this initiative)")
    verbose_name_plural = _("dependents (need this initiative)")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("from_initiative")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoteInline(InitiativeChildInline, admin.StackedInline):
    model = Note
    fk_name = "initiative"
    fields = (("kind", "at"), "text", "author")
    readonly_fields = ("author",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("author")


class StageChangeInline(RegistryInline, admin.TabularInline):
    """The lifecycle's journal: written by `registry.services.lifecycle`, never edited here."""

    model = StageChange
    fields = ("at", "from_stage", "to_stage", "actor", "imported_from", "note")
    readonly_fields = fields
    ordering = ("at", "id")
    can_delete = False
    verbose_name_plural = _("stage history")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("by")

    @admin.display(description=_("by"))
    def actor(self, obj: StageChange) -> str:
        return obj.actor_name or (obj.by.get_username() if obj.by else "–")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- initiatives ------------------------------------------------------------------------------


@admin.register(Initiative)
class InitiativeAdmin(
    ExportActionsMixin, StageJournalGoesWithItsInitiativeMixin, RegistryModelAdmin
):
    form = InitiativeAdminForm
    list_display = (
        "key",
        "name",
        "kind",
        "stage",
        "owner",
        "lead_department",
        "primary_goal",
        "alignment",
        "target_date",
    )
    list_display_links = ("key", "name")
    list_filter = (
        "stage",
        "kind",
        ("lead_department", LeadDepartmentFilter),
        AlignedGoalFilter,
        AlignmentLevelFilter,
        "risk_tier",
        TouchpointFilter,
        ActiveInFilter,
        ArchivedFilter,
        SavedViewFilter,
    )
    list_select_related = ("owner", "lead_department")
    # A page costs the same at any portfolio size: counts are bounded (registry.selectors.counting)
    # and the unfiltered total is not counted a second time.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    search_fields = ("key", "name", "owner__name", "owner__email")
    search_help_text = _("Key, name, or the owner's name or e-mail.")
    autocomplete_fields = ("owner", "lead_department", "departments", "systems", "tags")
    actions = (
        "archive_selected",
        "restore_selected",
        "export_selected_csv",
        "export_selected_xlsx",
    )
    inlines = (
        AlignmentInline,
        TeamRoleInline,
        DependencyInline,
        DependentInline,
        NoteInline,
        StageChangeInline,
    )
    readonly_fields = (
        "key",
        "stage_display",
        "alignment_level_display",
        "gate_gaps_display",
        "overlaps_display",
        "version",
        "paused_from",
        "source_link",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "archived_at",
        "archived_by",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("key", "stage_display"),
                    "name",
                    "kind",
                    "summary",
                    ("alignment_level_display", "gate_gaps_display"),
                    "overlaps_display",
                    "loaded_version",
                )
            },
        ),
        (
            _("Ownership"),
            {"fields": ("owner", "lead_department", "departments")},
        ),
        (
            _("Customer experience"),
            {
                "fields": (
                    "touchpoints",
                    "journey_stages",
                    "interaction_mode",
                    "customer_segments",
                    "customer_facing",
                )
            },
        ),
        (
            _("Technology and risk"),
            {
                "fields": (
                    "systems",
                    "autonomy",
                    "risk_tier",
                    ("uses_personal_data", "confidential"),
                )
            },
        ),
        (
            _("Experiment"),
            {"fields": ("hypothesis", "success_criteria", "expected_benefit", "learnings")},
        ),
        (
            _("Budget and timeline"),
            {
                "fields": (
                    ("budget_planned", "budget_spent", "currency"),
                    ("start_date", "target_date", "end_date"),
                )
            },
        ),
        (_("Classification"), {"fields": ("tags",)}),
        (
            _("Sync identity"),
            {
                "classes": ("collapse",),
                "fields": ("source", "external_id", "external_url", "source_link"),
            },
        ),
        (
            _("Record"),
            {
                "classes": ("collapse",),
                "fields": (
                    ("version", "paused_from"),
                    ("created_at", "created_by"),
                    ("updated_at", "updated_by"),
                    ("archived_at", "archived_by"),
                ),
            },
        ),
    )

    class Media:
        css = ADMIN_CSS

    # queryset and permissions

    def get_inlines(self, request: HttpRequest, obj: Any = None) -> tuple:
        if obj is None:  # a new initiative has no dependents and no history yet
            return tuple(i for i in self.inlines if i not in (DependentInline, StageChangeInline))
        return self.inlines

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = cast(InitiativeQuerySet, super().get_queryset(request))
        return queryset.with_alignment_level().with_primary_goal().visible_to(request.user)

    def get_list_display(self, request: HttpRequest) -> tuple[Any, ...]:
        columns = tuple(super().get_list_display(request))
        if request.GET.get(ArchivedFilter.parameter_name) in ("archived", "all"):
            columns += ("archived_at",)
        return columns

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and can_write_initiative(
            request.user, obj
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Hard delete is for superusers cleaning up mistakes; everyone else archives.
        return bool(request.user.is_superuser)

    # columns and read-only fields

    @admin.display(description=_("stage"), ordering="stage")
    def stage_display(self, obj: Initiative) -> str:
        if obj.pk is None:
            return str(Stage.IDEA.label)
        label = str(obj.get_stage_display())
        if obj.stage == Stage.PAUSED and obj.paused_from:
            paused_from = _("from")  # outside the f-string, so makemessages sees it
            label += f" ({paused_from} {Stage(obj.paused_from).label})"
        return label

    @admin.display(description=_("primary goal"), ordering="primary_goal_code")
    def primary_goal(self, obj: Initiative) -> str:
        code = getattr(obj, "primary_goal_code", None)
        if not code:
            return "–"
        url = reverse("admin:registry_goal_change", args=[getattr(obj, "primary_goal_id", None)])
        return format_html('<a href="{}">{}</a>', url, code)

    @admin.display(description=_("alignment"), ordering="alignment_strength")
    def alignment(self, obj: Initiative) -> str:
        return alignment_badge(getattr(obj, "alignment_level", None))

    @admin.display(description=_("alignment level"))
    def alignment_level_display(self, obj: Initiative) -> str:
        if obj.pk is None:
            return alignment_badge(AlignmentLevel.NONE)
        level = getattr(obj, "alignment_level", None)
        if level is None:
            level = (
                Initiative.objects.filter(pk=obj.pk)
                .with_alignment_level()
                .values_list("alignment_level", flat=True)
                .first()
            )
        return alignment_badge(level)

    @admin.display(description=_("gate gaps"))
    def gate_gaps_display(self, obj: Initiative) -> str:
        if obj.pk is None:
            return "–"
        gaps = lifecycle.gate_gaps(obj)
        if not gaps:
            return format_html(
                '<span class="registry-ok">{}</span>', _("none: the evidence matches the stage")
            )
        return format_html(
            '<ul class="registry-gaps">{}</ul>',
            format_html_join("", "<li>{}</li>", ((Gate(gap).label,) for gap in gaps)),
        )

    @admin.display(description=_("overlaps (join or justify)"))
    def overlaps_display(self, obj: Initiative) -> str:
        # Filled per request in render_change_form: the rule depends on what the user may see.
        overlaps = getattr(obj, "_registry_overlaps", None)
        return overlaps_html(overlaps) if overlaps else "–"

    @admin.display(description=_("open in source"))
    def source_link(self, obj: Initiative) -> str:
        if not obj.external_url:
            return "–"
        return format_html(
            '<a href="{}" rel="noopener" target="_blank">{}</a>',
            obj.external_url,
            obj.source or obj.external_url,
        )

    # saving

    def save_model(self, request: HttpRequest, obj: Initiative, form, change: bool) -> None:
        """Every admin save is a new version, attributed to the user who made it."""
        if change:
            obj.version += 1
        else:
            obj.created_by = editor(request)
        obj.updated_by = editor(request)
        super().save_model(request, obj, form, change)
        if not change:
            obj.refresh_from_db(fields=["key", "stage"])
            lifecycle.record_initial_stage(
                initiative=obj, actor=request.user, note=str(_("Registered in the admin."))
            )

    def _warn_about_overlaps(self, request: HttpRequest, obj: Initiative) -> None:
        overlaps = reports.overlaps_for(obj, user=request.user)
        if overlaps:
            self.message_user(
                request,
                format_html(
                    "{} {}",
                    _(
                        "Join or justify: %(key)s overlaps with open initiatives of other "
                        "departments."
                    )
                    % {"key": obj.key},
                    overlaps_html(overlaps),
                ),
                messages.WARNING,
            )

    def response_add(self, request: HttpRequest, obj: Initiative, post_url_continue=None):
        self._warn_about_overlaps(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Initiative) -> HttpResponse:
        self._warn_about_overlaps(request, obj)
        return super().response_change(request, obj)

    # the "move to stage" control

    def get_urls(self) -> list:
        info = self.opts.app_label, self.opts.model_name
        return [
            path(
                "<path:object_id>/transition/",
                self.admin_site.admin_view(self.transition_view),
                name="{}_{}_transition".format(*info),
            ),
            *super().get_urls(),
        ]

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict,
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Initiative | None = None,
    ) -> HttpResponse:
        if obj is not None and obj.pk is not None:
            obj._registry_overlaps = reports.overlaps_for(  # type: ignore[attr-defined]
                obj, user=request.user
            )
        if change and obj is not None and self.has_change_permission(request, obj):
            context["stage_move_form"] = StageMoveForm(initiative=obj)
            context["stage_move_url"] = reverse(
                "admin:registry_initiative_transition",
                args=[obj.pk],
                current_app=self.admin_site.name,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def transition_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST only: move the initiative through the lifecycle's gates, then show the page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        change_url = reverse(
            "admin:registry_initiative_change", args=[obj.pk], current_app=self.admin_site.name
        )
        form = StageMoveForm(request.POST, initiative=obj)
        if not form.is_valid():
            errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
            self.message_user(request, errors, messages.ERROR)
            return HttpResponseRedirect(change_url)
        from_stage = obj.get_stage_display()
        try:
            lifecycle.initiative_transition(
                initiative=obj,
                to_stage=form.cleaned_data["to_stage"],
                actor=request.user,
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except lifecycle.TransitionError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        except lifecycle.StaleVersionError:
            self.message_user(
                request,
                _("%(key)s changed since you opened it; check its stage and try again.")
                % {"key": obj.key},
                messages.ERROR,
            )
        else:
            moved = _("Moved from %(from)s to %(to)s.") % {
                "from": from_stage,
                "to": obj.get_stage_display(),
            }
            self.log_change(request, obj, moved)
            self.message_user(request, f"{obj.key}: {moved}", messages.SUCCESS)
        return HttpResponseRedirect(change_url)

    # archive / restore

    def has_archive_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """Archiving takes an initiative out of the portfolio; `registry.permissions` decides."""
        return bool(
            super().has_change_permission(request, obj)
            and permissions.can_archive_initiative(request.user, obj or Initiative())
        )

    def _archivable(self, request: HttpRequest, queryset: QuerySet) -> list[Initiative]:
        return [
            obj
            for obj in queryset.select_related(None)
            if self.has_archive_permission(request, obj)
        ]

    @admin.action(description=_("Archive selected initiatives"), permissions=["archive"])
    def archive_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        archived = sum(
            initiative_archive(initiative=obj, actor=request.user)
            for obj in self._archivable(request, queryset)
        )
        self.message_user(
            request,
            ngettext("Archived %(count)d initiative.", "Archived %(count)d initiatives.", archived)
            % {"count": archived},
            messages.SUCCESS,
        )

    @admin.action(description=_("Restore selected initiatives"), permissions=["archive"])
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        restored = 0
        for obj in self._archivable(request, queryset):
            try:
                restored += initiative_restore(initiative=obj, actor=request.user)
            except IntegrityError as exc:
                violation = ConstraintViolation.from_error(exc)
                if violation is None:
                    raise
                self.message_user(request, f"{obj.key}: {violation.message}", messages.ERROR)
        self.message_user(
            request,
            ngettext("Restored %(count)d initiative.", "Restored %(count)d initiatives.", restored)
            % {"count": restored},
            messages.SUCCESS,
        )


# --- initiative parts on their own ------------------------------------------------------------


@admin.register(Alignment)
class AlignmentAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    list_display = ("initiative", "goal", "strength", "is_primary", "expected_impact")
    list_filter = ("strength", "is_primary", "goal__vision")
    list_select_related = ("initiative", "goal")
    search_fields = ("initiative__key", "initiative__name", "goal__code", "goal__title")
    autocomplete_fields = ("initiative", "goal")
    readonly_fields = ("version", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: Alignment, form, change: bool) -> None:
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)


@admin.register(Dependency)
class DependencyAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    initiative_paths = ("from_initiative", "to_initiative")
    write_path = "from_initiative"
    list_display = ("from_initiative", "to_initiative", "note", "created_at")
    list_select_related = ("from_initiative", "to_initiative")
    search_fields = (
        "from_initiative__key",
        "from_initiative__name",
        "to_initiative__key",
        "to_initiative__name",
    )
    autocomplete_fields = ("from_initiative", "to_initiative")
    readonly_fields = ("created_at",)


@admin.register(TeamRole)
class TeamRoleAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    list_display = ("initiative", "person", "role")
    list_filter = ("role",)
    list_select_related = ("initiative", "person")
    search_fields = ("initiative__key", "initiative__name", "person__name", "person__email")
    autocomplete_fields = ("initiative", "person")


@admin.register(Note)
class NoteAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    list_display = ("at", "kind", "subject", "author", "excerpt")
    list_filter = ("kind",)
    list_select_related = ("initiative", "goal", "review__vision", "author")
    search_fields = ("text", "initiative__key", "goal__code", "review__period")
    autocomplete_fields = ("initiative", "goal", "review")
    readonly_fields = ("author",)
    date_hierarchy = "at"

    @admin.display(description=_("about"))
    def subject(self, obj: Note) -> Any:
        return obj.initiative or obj.goal or obj.review

    @admin.display(description=_("text"))
    def excerpt(self, obj: Note) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"

    def may_write(self, request: HttpRequest, obj: Any) -> bool:
        return permissions.can_write_note(request.user, obj)

    def save_model(self, request: HttpRequest, obj: Note, form, change: bool) -> None:
        if not change and obj.author_id is None:
            obj.author = editor(request)
        super().save_model(request, obj, form, change)


@admin.register(StageChange)
class StageChangeAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    """Read-only: stage changes are the lifecycle's journal."""

    list_display = ("initiative", "from_stage", "to_stage", "at", "actor_name", "imported_from")
    list_filter = ("to_stage", "from_stage")
    list_select_related = ("initiative",)
    search_fields = ("initiative__key", "initiative__name", "actor_name", "note")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- quarterly review -------------------------------------------------------------------------


def _snapshot_html(snapshot: dict | None) -> str:
    if not snapshot:
        return "–"
    rows = snapshot_rows(snapshot)  # labelled and formatted in the reader's language
    return format_html(
        '<dl class="registry-snapshot">{}</dl>',
        format_html_join("", "<dt>{}</dt><dd>{}</dd>", rows),
    )


def _decide(
    request: HttpRequest,
    *,
    review: Review,
    initiative: Initiative,
    decision: str,
    rationale: str,
    replaces: ReviewDecision | None = None,
) -> ReviewDecision:
    """Record a decision through `registry.services.reviews`, which takes the frozen snapshot."""
    try:
        if replaces is not None and replaces.pk and replaces.initiative_id != initiative.pk:
            replaces.delete()
        return reviews.review_decide(
            review=review,
            initiative=initiative,
            decision=decision,
            rationale=rationale,
            actor=request.user,
        )
    except (reviews.ReviewError, lifecycle.TransitionError) as exc:
        raise SaveRefusedError(exc.message, code=exc.code, model=ReviewDecision) from exc


class ReviewDecisionInline(RegistryInline, admin.TabularInline):
    model = ReviewDecision
    fields = ("initiative", "decision", "rationale", "snapshot_display", "decided_at", "decided_by")
    readonly_fields = ("snapshot_display", "decided_at", "decided_by")
    autocomplete_fields = ("initiative",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("initiative", "decided_by")

    @admin.display(description=_("snapshot"))
    def snapshot_display(self, obj: ReviewDecision) -> str:
        return _snapshot_html(obj.snapshot)

    def _open(self, obj: Review | None) -> bool:
        return obj is None or not obj.is_closed

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and self._open(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._open(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._open(obj)


@admin.register(Review)
class ReviewAdmin(RegistryModelAdmin):
    """Reviews open, decide and close through `registry.services.reviews`; a closed one is a
    record."""

    list_display = ("period", "vision", "status", "held_on", "decision_count", "closed_at")
    list_filter = ("status", "vision")
    list_select_related = ("vision",)
    search_fields = ("period", "summary", "vision__title")
    autocomplete_fields = ("vision",)
    fields = ("vision", "period", "held_on", "summary", "status", "closed_at")
    readonly_fields = ("status", "closed_at", "created_at", "updated_at")
    inlines = (ReviewDecisionInline,)
    actions = ("close_selected",)

    class Media:
        css = ADMIN_CSS

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(decision_total=Count("decisions"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # Vision and quarter identify a review; once opened they stay.
        return readonly if obj is None else ("vision", "period", *readonly)

    @admin.display(description=_("decisions"), ordering="decision_total")
    def decision_count(self, obj: Review) -> int:
        return getattr(obj, "decision_total", 0)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and (obj is None or not obj.is_closed)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.is_closed)

    def save_model(self, request: HttpRequest, obj: Review, form, change: bool) -> None:
        try:
            if change:
                reviews.review_update(
                    review=obj, actor=request.user, summary=obj.summary, held_on=obj.held_on
                )
                return
            opened = reviews.review_open(
                vision=obj.vision,
                period=obj.period,
                held_on=obj.held_on,
                summary=obj.summary,
                actor=request.user,
            )
        except reviews.ReviewError as exc:
            raise SaveRefusedError(exc.message, code=exc.code, model=Review) from exc
        obj.pk = opened.pk
        obj.status, obj.closed_at = opened.status, opened.closed_at
        obj.created_at, obj.updated_at = opened.created_at, opened.updated_at
        obj._state.adding = False

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not ReviewDecision:
            super().save_formset(request, form, formset, change)
            return
        formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        for decision_form in formset.forms:
            if not decision_form.has_changed() or formset._should_delete_form(decision_form):
                continue
            data = decision_form.cleaned_data
            _decide(
                request,
                review=form.instance,
                initiative=data["initiative"],
                decision=data["decision"],
                rationale=data.get("rationale", ""),
                replaces=decision_form.instance if decision_form.instance.pk else None,
            )

    @admin.action(description=_("Close selected reviews"), permissions=["change"])
    def close_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        closed = 0
        for review in queryset.filter(status=ReviewStatus.OPEN):
            try:
                reviews.review_close(review=review, actor=request.user)
            except reviews.ReviewError as exc:
                self.message_user(request, f"{review.period}: {exc.message}", messages.ERROR)
            else:
                closed += 1
        if closed:
            self.message_user(
                request,
                ngettext("Closed %(count)d review.", "Closed %(count)d reviews.", closed)
                % {"count": closed},
                messages.SUCCESS,
            )


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    write_path = None  # decisions are the PMO's, by model permission
    list_display = ("review", "initiative", "decision", "decided_at", "decided_by")
    list_filter = ("decision", "review__status", "review__period")
    list_select_related = ("review__vision", "initiative", "decided_by")
    search_fields = ("initiative__key", "initiative__name", "review__period", "rationale")
    autocomplete_fields = ("initiative",)
    fields = (
        "review",
        "initiative",
        "decision",
        "rationale",
        "snapshot_display",
        "decided_at",
        "decided_by",
    )
    readonly_fields = ("snapshot_display", "decided_at", "decided_by")

    class Media:
        css = ADMIN_CSS

    @admin.display(description=_("snapshot"))
    def snapshot_display(self, obj: ReviewDecision) -> str:
        return _snapshot_html(obj.snapshot)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        return readonly if obj is None else ("review", "initiative", *readonly)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any):
        if db_field.name == "review":
            kwargs["queryset"] = Review.objects.filter(status=ReviewStatus.OPEN).select_related(
                "vision"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _open(self, obj: ReviewDecision | None) -> bool:
        return obj is None or not obj.review.is_closed

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._open(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._open(obj)

    def save_model(self, request: HttpRequest, obj: ReviewDecision, form, change: bool) -> None:
        record = _decide(
            request,
            review=obj.review,
            initiative=obj.initiative,
            decision=obj.decision,
            rationale=obj.rationale,
        )
        obj.pk = record.pk
        obj.snapshot, obj.decided_at, obj.decided_by = (
            record.snapshot,
            record.decided_at,
            record.decided_by,
        )
        obj._state.adding = False
