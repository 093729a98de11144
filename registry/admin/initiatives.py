"""The initiative changelist and change form: filters, inlines, the "move to stage" control,
archive and restore, and "join or justify" overlaps.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, router
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registry import permissions
from registry.admin.base import (
    ADMIN_CSS,
    ConstraintViolation,
    InitiativeChildInline,
    RegistryAdminForm,
    RegistryInline,
    RegistryInlineFormSet,
    RegistryModelAdmin,
    can_write_initiative,
    check_deferred_rules,
)
from registry.admin.changelist import LeadDepartmentFilter
from registry.admin.export import ExportActionsMixin
from registry.admin.history import StageJournalGoesWithItsInitiativeMixin
from registry.admin.learning import LearningInline, VoiceReviewInline, tell_similar_learnings
from registry.admin.quick_filters import (
    GateGapFilter,
    OverlapFilter,
    QuickFiltersMixin,
    SiloFilter,
)
from registry.admin.saved_views import SavedViewFilter
from registry.board.scope import ActiveInFilter
from registry.choices import (
    ALIGNMENT_LEVEL_BY_STRENGTH,
    AlignmentLevel,
    Gate,
    JourneyStage,
    Stage,
    Stance,
    Touchpoint,
)
from registry.i18n.rule_messages import rule_message
from registry.models import (
    Alignment,
    Dependency,
    Goal,
    Initiative,
    InitiativeQuerySet,
    Note,
    Person,
    StageChange,
    TeamRole,
)
from registry.models.initiatives import INITIATIVE_WRITABLE_FIELDS
from registry.permissions import Actor
from registry.selectors import overlaps as overlap_scoring
from registry.selectors import reports
from registry.services import lifecycle
from registry.services.archive import initiative_archive, initiative_restore
from registry.services.errors import RefusedError
from registry.services.initiatives import (
    initiative_create,
    initiative_update,
    initiative_write_refusal,
)


def overlaps_html(overlaps: list[dict[str, Any]]) -> str:
    """Each overlapping open initiative of another department, best first, with its score and
    the reasons that make it up."""
    changelist = reverse("admin:registry_initiative_changelist")
    return format_html(
        '<ul class="registry-overlaps">{}</ul>',
        format_html_join(
            "",
            '<li><a href="{}?q={}">{} · {}</a> ({}) — {} <span class="registry-score" '
            'data-score="{}">{}</span>: {}</li>',
            (
                (
                    changelist,
                    row["key"],
                    row["key"],
                    row["name"],
                    row["lead_department_name"],
                    _("score"),
                    row["score"],
                    formats.number_format(row["score"], decimal_pos=2),
                    "; ".join(overlap_scoring.reason_text(reason) for reason in row["reasons"]),
                )
                for row in overlaps
            ),
        ),
    )


def alignment_badge(level: str | None) -> str:
    level = level or AlignmentLevel.NONE
    return format_html(
        '<span class="registry-badge registry-badge--{}">{}</span>',
        level,
        AlignmentLevel(level).label,
    )


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


class JourneyStageFilter(admin.SimpleListFilter):
    title = _("journey stage")
    parameter_name = "journey_stage"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(JourneyStage.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        value = self.value()
        if value is None:
            return None
        if value not in JourneyStage.values:
            raise IncorrectLookupParameters(value)
        return queryset.filter(journey_stages__contains=[value])


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


class InitiativeAdminForm(RegistryAdminForm):
    """Checkbox lists for the vocabularies, and a guard against overwriting newer edits."""

    touchpoints = forms.TypedMultipleChoiceField(
        label=_("Touchpoints"),
        choices=Touchpoint.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    journey_stages = forms.TypedMultipleChoiceField(
        label=_("Journey stages"),
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

    actor: Actor = Actor()

    def changes(self) -> dict[str, Any]:
        """What the user changed, as the initiative service takes it."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name in self.cleaned_data and name in INITIATIVE_WRITABLE_FIELDS
        }

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        # The service's rules, shown on the field they concern before anything is written.
        stored = self.instance if self.instance.pk is not None else None
        changes = self.changes() if stored is not None else dict(self.cleaned_data)
        refusal = initiative_write_refusal(actor=self.actor, initiative=stored, changes=changes)
        if refusal is not None:
            field = refusal.field if refusal.field in self.fields else None
            self.add_error(field, refusal.message)
        return cleaned


class StageMoveForm(forms.Form):
    """The change page's "move to stage" control; the lifecycle module decides.

    On the change page its fields belong to the change form (`prefix="move"`, HTML `form`
    attribute): "Save and move" saves what was typed, then moves — nothing typed is lost when
    a gate refuses. The transition URL takes the same fields without the prefix.
    """

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
        if self.prefix:
            for field in self.fields.values():
                field.widget.attrs["form"] = CHANGE_FORM_ID
        self.next_stages = lifecycle.next_stages(initiative)
        # Validation accepts any stage so that an illegal move gets the lifecycle's message.
        self.fields["to_stage"].widget.choices = [
            (stage, _move_label(initiative, stage)) for stage in self.next_stages
        ]
        self.fields["version"].initial = initiative.version


# What the registry fills in on an idea someone proposes (the initiative service decides).
# The add form's "check for overlaps" button: re-render with the candidates, save nothing.
OVERLAP_CHECK = "_check_overlaps"

PROPOSAL_SET_BY_THE_REGISTRY = (
    "owner",
    "lead_department",
    "source",
    "external_id",
    "external_url",
    "confidential",
)
CHANGE_FORM_ID = "initiative_form"  # the admin's change form: <form id="{model_name}_form">
MOVE_PREFIX = "move"


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


class AlignmentFormSet(RegistryInlineFormSet):
    """One submit that marks two rows primary is ambiguous: which one should demote the
    other? It is refused with the rule it would break, before the service sees it."""

    def clean(self) -> None:
        super().clean()
        kept = [
            f
            for f in self.forms
            if f not in self.deleted_forms and f.has_changed() or f.instance.pk
        ]
        primaries = [
            f
            for f in kept
            if f not in self.deleted_forms and getattr(f, "cleaned_data", {}).get("is_primary")
        ]
        if len(primaries) > 1:
            raise ValidationError(
                rule_message("registry_alignment_one_primary"),
                code="registry_alignment_one_primary",
            )


class AlignmentInline(InitiativeChildInline, admin.TabularInline):
    model = Alignment
    formset = AlignmentFormSet
    fields = ("goal", "strength", "is_primary", "expected_impact", "rationale")
    autocomplete_fields = ("goal",)
    # A two-line rationale and a narrow impact field keep the row within the page's width.
    formfield_overrides = {
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 32})},
        models.DecimalField: {"widget": forms.NumberInput(attrs={"step": "any", "size": 8})},
    }

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


@admin.register(Initiative)
class InitiativeAdmin(
    QuickFiltersMixin,
    ExportActionsMixin,
    StageJournalGoesWithItsInitiativeMixin,
    RegistryModelAdmin,
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
        "lead_department__function",
        AlignedGoalFilter,
        AlignmentLevelFilter,
        OverlapFilter,
        SiloFilter,
        GateGapFilter,
        "risk_tier",
        TouchpointFilter,
        JourneyStageFilter,
        ActiveInFilter,
        ArchivedFilter,
        SavedViewFilter,
    )
    list_select_related = ("owner", "lead_department")
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
        VoiceReviewInline,
        LearningInline,
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
    # Folded by theme so the form is as long as what one is working on: the core and the
    # alignment stay open, the rest unfolds on a click (it was 7,500 px long, all open).
    # A fieldset holding an error opens by itself.
    fieldsets = (
        (
            None,
            {
                "fields": (
                    ("key", "stage_display"),
                    "name",
                    "kind",
                    "summary",
                    ("owner", "lead_department"),
                    "departments",
                    "loaded_version",
                )
            },
        ),
        (
            _("Alignment"),
            {"fields": (("alignment_level_display", "gate_gaps_display"), "overlaps_display")},
        ),
        (
            _("Customer experience"),
            {
                "classes": ("collapse",),
                "fields": (
                    "touchpoints",
                    "journey_stages",
                    "interaction_mode",
                    "customer_segments",
                    "customer_facing",
                ),
            },
        ),
        (
            _("Experiment"),
            {
                "classes": ("collapse",),
                "fields": ("hypothesis", "success_criteria", "expected_benefit", "learnings"),
            },
        ),
        (
            _("Technology and risk"),
            {
                "classes": ("collapse",),
                "fields": (
                    "systems",
                    "autonomy",
                    "risk_tier",
                    ("uses_personal_data", "confidential"),
                ),
            },
        ),
        (
            _("Budget and timeline"),
            {
                "classes": ("collapse",),
                "fields": (
                    ("budget_planned", "budget_spent", "currency"),
                    ("start_date", "target_date", "end_date"),
                ),
            },
        ),
        (_("Classification"), {"classes": ("collapse",), "fields": ("tags",)}),
        (
            _("Sync identity"),
            {
                "classes": ("collapse",),
                "fields": ("source", "external_id", "external_url", "source_link"),
            },
        ),
        (
            _("History"),
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
        return queryset.with_alignment_level().with_primary_goal()

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

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        form_class.actor = Actor(user=request.user)  # type: ignore[attr-defined]
        return form_class

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if obj is None and not permissions.can_create_initiative(request.user):
            # A proposed idea: its proposer owns it, in their department, in the open.
            readonly += PROPOSAL_SET_BY_THE_REGISTRY
        return readonly

    def save_model(self, request: HttpRequest, obj: Initiative, form, change: bool) -> None:
        """Through `registry.services.initiatives`, which holds every write rule."""
        actor = Actor(user=request.user)
        if change:
            saved = initiative_update(
                actor=actor,
                initiative=obj,
                changes=form.changes(),
                expected_version=form.cleaned_data.get("loaded_version"),
            )
        else:
            data = {
                name: value
                for name, value in form.cleaned_data.items()
                if name in INITIATIVE_WRITABLE_FIELDS
            }
            saved = initiative_create(actor=actor, data=data)
        obj.pk = saved.pk
        obj._state.adding = False
        for field in Initiative._meta.concrete_fields:
            if field.name != "search_vector":
                setattr(obj, field.attname, getattr(saved, field.attname))

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # The initiative's own many-to-many fields were set by the service (save_model);
        # the inlines save through theirs.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        check_deferred_rules(router.db_for_write(self.model))

    # idea intake: "check for overlaps" before saving

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict | None = None,
    ) -> HttpResponse:
        if object_id is None and request.method == "POST" and OVERLAP_CHECK in request.POST:
            return self._overlap_preview(request, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _overlap_preview(
        self, request: HttpRequest, form_url: str, extra_context: dict | None
    ) -> HttpResponse:
        """The add form again, filled in as typed, with the open initiatives of other
        departments it would overlap — nothing is saved (the inline rows are not kept)."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        posted = request.POST
        values: dict[str, Any] = {
            name: posted.get(name, "") for name in ("name", "summary", "hypothesis", "kind")
        }
        values["touchpoints"] = posted.getlist("touchpoints")
        values["journey_stages"] = posted.getlist("journey_stages")
        values["systems"] = [pk for pk in posted.getlist("systems") if pk.isdigit()]
        department = posted.get("lead_department", "")
        if not department.isdigit() or not permissions.can_create_initiative(request.user):
            # A proposal is led by the proposer's department (the service sets it so).
            person = Person.objects.filter(user=request.user).first()
            department = person.department_id if person else None
        values["lead_department"] = department
        found = reports.overlaps_for(values, user=request.user)
        preview = request.GET.copy()
        preview.setlist("_overlap_preview", ["1"])
        for name in (*values, "departments", "tags", "customer_segments", "interaction_mode"):
            if name in posted:
                preview.setlist(name, posted.getlist(name))
        request.GET = preview
        request.method = "GET"
        context = {
            **(extra_context or {}),
            "overlap_preview": overlaps_html(found) if found else "",
            "overlap_preview_count": len(found),
            "overlap_preview_checked": True,
        }
        return super().changeform_view(request, None, form_url, context)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        if "_overlap_preview" in request.GET:
            initial.pop("_overlap_preview", None)
            for name in ("touchpoints", "journey_stages", "customer_segments", "systems"):
                if name in request.GET:
                    initial[name] = request.GET.getlist(name)
            for name in ("departments", "tags"):
                if name in request.GET:
                    initial[name] = request.GET.getlist(name)
        return initial

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

    def _warn_about_stance(self, request: HttpRequest, obj: Initiative) -> None:
        """Flag customer-facing work that contradicts the active vision's proactive stance."""
        conflicts = lifecycle.active_stance_conflicts(obj)
        if not conflicts:
            return
        where = "; ".join(
            " · ".join(
                str(label)
                for label in (
                    Touchpoint(c["touchpoint"]).label,
                    JourneyStage(c["journey_stage"]).label if c["journey_stage"] else "",
                )
                if label
            )
            + f": {Stance(c['stance']).label}"
            for c in conflicts
        )
        message = _("%(key)s contradicts the vision's proactive stance (%(where)s).") % {
            "key": obj.key,
            "where": where,
        }
        if obj.stage in (Stage.IDEA, Stage.PROPOSED):
            message += " " + _("Moving it past proposed needs a note that justifies the exception.")
        self.message_user(request, message, messages.WARNING)

    def response_add(self, request: HttpRequest, obj: Initiative, post_url_continue=None):
        self._warn_about_overlaps(request, obj)
        tell_similar_learnings(self, request, obj)
        self._warn_about_stance(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Initiative) -> HttpResponse:
        self._warn_about_overlaps(request, obj)
        tell_similar_learnings(self, request, obj)
        self._warn_about_stance(request, obj)
        if "_move" in request.POST:
            # "Save and move": the form's changes are saved; now the move, on the saved row.
            form = StageMoveForm(request.POST, initiative=obj, prefix=MOVE_PREFIX)
            self._move(request, obj, form, expected_version=None)
            return HttpResponseRedirect(self._change_url(obj))
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
            context["stage_move_form"] = StageMoveForm(initiative=obj, prefix=MOVE_PREFIX)
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
        form = StageMoveForm(request.POST, initiative=obj)
        self._move(request, obj, form, expected_version=form.data.get("version") or None)
        return HttpResponseRedirect(self._change_url(obj))

    def _change_url(self, obj: Initiative) -> str:
        return reverse(
            "admin:registry_initiative_change", args=[obj.pk], current_app=self.admin_site.name
        )

    def _move(
        self, request: HttpRequest, obj: Initiative, form: StageMoveForm, expected_version: Any
    ) -> None:
        """Move through the lifecycle service; the outcome becomes a message."""
        if not form.is_valid():
            errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
            self.message_user(request, errors, messages.ERROR)
            return
        from_stage = obj.get_stage_display()
        try:
            lifecycle.initiative_transition(
                initiative=obj,
                to_stage=form.cleaned_data["to_stage"],
                actor=Actor(user=request.user),
                note=form.cleaned_data["note"],
                expected_version=int(expected_version) if expected_version else None,
            )
        except (lifecycle.TransitionError, RefusedError) as exc:
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
