"""The initiative list's filters, one definition for the API, the admin's saved-view
filter and saved views, and the strict filter vocabulary every resource's FilterSet uses.

Every filter is strict: an unknown choice, a malformed date or quarter, a non-numeric id
or an unknown natural key is a 400 whose `attr` names the parameter — never ignored.
Related objects are filtered by natural key (`department=service`) and, NetBox-style, by id
where that is what tools hold (`department_id=3`).
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters as filters
from django import forms
from django.contrib.postgres.search import SearchQuery
from django.db.models import Exists, IntegerField, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import In
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from registry import choices
from registry.choices import ALIGNMENT_LEVEL_BY_STRENGTH
from registry.models import (
    Alignment,
    Department,
    Dependency,
    Goal,
    Initiative,
    InitiativeQuerySet,
    Person,
    System,
    Tag,
    Vision,
)
from registry.models.initiatives import active_in_condition
from registry.quarters import quarter_bounds
from registry.selectors.visibility import visible_initiatives

TRUE_VALUES = frozenset({"true", "1", "yes", "on"})
FALSE_VALUES = frozenset({"false", "0", "no", "off"})


# --- strict form fields -----------------------------------------------------------------------


class StrictBooleanField(forms.Field):
    """true/false (also 1/0, yes/no); anything else is an error, not "no filter"."""

    def to_python(self, value: Any) -> bool | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text in FALSE_VALUES:
            return False
        raise forms.ValidationError(
            _("'%(value)s' is not a boolean; use true or false."),
            code="invalid",
            params={"value": value},
        )


class QuarterField(forms.CharField):
    """A quarter such as 2026-Q4."""

    def to_python(self, value: Any) -> str:
        value = (super().to_python(value) or "").strip().upper()
        if value:
            try:
                quarter_bounds(value)
            except ValueError:
                raise forms.ValidationError(
                    _("'%(value)s' is not a quarter like 2026-Q4."),
                    code="invalid",
                    params={"value": value},
                ) from None
        return value


class SinceField(forms.Field):
    """An ISO 8601 date-time, or a date (meaning its midnight in the server's time zone)."""

    def to_python(self, value: Any) -> datetime.datetime | None:
        if value in self.empty_values:
            return None
        text = str(value).strip().replace(" ", "+")  # an unescaped `+` arrives as a space
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            raise forms.ValidationError(
                _("'%(value)s' is not an ISO 8601 date or date-time."),
                code="invalid",
                params={"value": value},
            ) from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment


class NaturalKeyModelChoiceField(forms.ModelChoiceField):
    """An object by id (digits) or natural key (case-insensitive)."""

    def __init__(self, *args: Any, natural_key: str, **kwargs: Any) -> None:
        self.natural_key = natural_key
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        if value in self.empty_values:
            return None
        text = str(value).strip()
        lookup: dict[str, Any] = (
            {"pk": int(text)} if text.isdigit() else {f"{self.natural_key}__iexact": text}
        )
        queryset = self.queryset
        assert queryset is not None
        try:
            return queryset.get(**lookup)
        except (queryset.model.DoesNotExist, queryset.model.MultipleObjectsReturned):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": text},
            ) from None


# --- filters over those fields --------------------------------------------------------------


class StrictBooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class QuarterFilter(filters.CharFilter):
    field_class = QuarterField


@extend_schema_field(OpenApiTypes.DATETIME)
class SinceFilter(filters.Filter):
    field_class = SinceField


@extend_schema_field(OpenApiTypes.STR)
class NaturalKeyChoiceFilter(filters.ModelChoiceFilter):
    """By id or natural key (e.g. a person by e-mail or id)."""

    field_class = NaturalKeyModelChoiceField


@extend_schema_field(OpenApiTypes.STR)
class KeyChoiceFilter(filters.ModelChoiceFilter):
    """By natural key (slug, code, key, name)."""


@extend_schema_field(OpenApiTypes.INT)
class IdChoiceFilter(filters.ModelChoiceFilter):
    """By numeric id; anything else is a 400."""


def _unknown(what: str) -> dict[str, str]:
    return {"invalid_choice": _("No %(what)s '%%(value)s'.") % {"what": what}}


def by_slug(queryset: QuerySet, what: str, **kwargs: Any) -> filters.ModelChoiceFilter:
    return KeyChoiceFilter(
        queryset=queryset, to_field_name="slug", error_messages=_unknown(what), **kwargs
    )


def by_id(queryset: QuerySet, what: str, **kwargs: Any) -> filters.ModelChoiceFilter:
    return IdChoiceFilter(queryset=queryset, error_messages=_unknown(what), **kwargs)


def _visible_to_requester(request: Any) -> QuerySet:
    return visible_initiatives(getattr(request, "user", None))


def by_initiative_key(**kwargs: Any) -> filters.ModelChoiceFilter:
    return KeyChoiceFilter(
        queryset=_visible_to_requester,
        to_field_name="key",
        error_messages=_unknown(str(_("initiative with key"))),
        **kwargs,
    )


def by_goal_code(**kwargs: Any) -> filters.ModelChoiceFilter:
    return KeyChoiceFilter(
        queryset=Goal.objects.all(),
        to_field_name="code",
        error_messages=_unknown(str(_("goal with code"))),
        **kwargs,
    )


def by_person(**kwargs: Any) -> NaturalKeyChoiceFilter:
    return NaturalKeyChoiceFilter(
        queryset=Person.objects.all(),
        natural_key="email",
        error_messages=_unknown(str(_("person with e-mail or id"))),
        **kwargs,
    )


class StrictOrderingField(filters.fields.BaseCSVField):
    """A comma-separated ordering whose every term is a field: `key,` or `,` is a 400.

    django-filter's CSV field lets an empty term through as "no value", and `order_by("")`
    then raises (a 500).
    """

    def clean(self, value: Any) -> Any:
        if isinstance(value, list) and any(term in self.empty_values for term in value):
            raise forms.ValidationError(
                _("Give field names separated by commas, with no empty term."),
                code="invalid_ordering",
            )
        return super().clean(value)


class OrderingFilter(filters.OrderingFilter):
    """django-filter's ordering (unknown fields are a 400, and so is an empty term) with a
    stable tie-breaker."""

    base_field_class = StrictOrderingField

    def __init__(self, *args: Any, tie_breaker: str = "pk", **kwargs: Any) -> None:
        self.tie_breaker = tie_breaker
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value: Any) -> QuerySet:
        if value in ([], (), {}, "", None):
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        return qs.order_by(*ordering, self.tie_breaker)


# --- tombstones -----------------------------------------------------------------------------

EMPTY_VALUES = ([], (), {}, "", None)


class TombstoneFilters:
    """A list's filters applied to the tombstones its `updated_since` feed merges in.

    A tombstone is a delete event of the history, which holds the deleted row's columns as
    they were when it was deleted: a filter on a column applies to it as it is (its field has
    the same name on the event) and is named in `tombstone_as_is`; any other filter has a
    method `tombstone_<name>(events, value)`. The feed itself answers for `updated_since`
    (the position) and `ordering`. A filter that is neither raises, so a filter added to the
    list cannot silently skip the tombstones (tests/api/test_feeds.py checks every one).
    """

    tombstone_exempt: frozenset[str] = frozenset({"updated_since", "ordering"})
    tombstone_as_is: frozenset[str] = frozenset()
    filters: dict[str, Any]
    form: forms.Form

    def filter_tombstones(self, events: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        for name, filter_ in self.filters.items():
            value = data.get(name)
            if name in self.tombstone_exempt or value in EMPTY_VALUES:
                continue
            if name in self.tombstone_as_is:
                events = filter_.filter(events, value)
            else:
                events = getattr(self, f"tombstone_{name}")(events, value)
        return events


def deleted_with(model: type[Model], label: str, *, via: str, **match: Any) -> QuerySet:
    """The rows of `model` (matching `match`) that the deleted initiative — the outer delete
    event — had when it was deleted, as their own delete events (`label`): deleting an
    initiative deletes its links, alignments and dependencies in the same transaction, and
    every history event of one transaction carries the same time. A row removed earlier
    (another transaction) does not count.
    """
    events = model.pgh_event_models[label]  # type: ignore[attr-defined]
    return events.objects.filter(
        pgh_label=label,
        pgh_created_at=OuterRef("pgh_created_at"),
        **{f"{via}_id": OuterRef("pgh_obj_id")},
        **match,
    )


def _alignments_when_deleted(**match: Any) -> QuerySet:
    return deleted_with(Alignment, "delete", via="initiative", **match)


# --- initiatives ----------------------------------------------------------------------------


class RequestedFiltersOnly:
    """Binds only the filters whose parameter the data carries.

    django-filter deep-copies every declared filter and builds, binds and cleans a form
    field for each on every request; a filter whose parameter is absent cleans to an empty
    value, which filters nothing. Leaving those out answers the same and costs what the
    given filters cost (the initiative list declares thirty). Every widget used here reads
    its own name; a suffixed parameter (`name_…`, as range widgets use) also keeps its filter.
    """

    base_filters: dict[str, filters.Filter]

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet | None = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        if data is not None and not prefix:
            keys = list(data)
            # An instance attribute: django-filter copies `self.base_filters`.
            self.base_filters = {
                name: filter_
                for name, filter_ in type(self).base_filters.items()
                if any(key == name or key.startswith(f"{name}_") for key in keys)
            }
        super().__init__(data, queryset, request=request, prefix=prefix)  # type: ignore[call-arg]


class LiveByDefault:
    """Archived rows are left out unless `archived=true` (only them) or `include_archived=true`
    (both) is given — or an `updated_since` feed is asked for, where they appear with
    `archived_at` set. For FilterSets of models that archive (initiatives, goals)."""

    form: Any

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        wants_archived = data.get("archived") is not None or data.get("include_archived")
        if not wants_archived and data.get("updated_since") is None:
            queryset = queryset.filter(archived_at__isnull=True)
        return super().filter_queryset(queryset)  # type: ignore[misc]

    def filter_passthrough(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset

    def filter_archived(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(archived_at__isnull=not value)


class InitiativeFilterSet(LiveByDefault, RequestedFiltersOnly, TombstoneFilters, filters.FilterSet):
    """The initiative filters of DESIGN §3. Archived initiatives are left out unless
    `archived=true` (only them) or `include_archived=true` (both) is given — or an
    `updated_since` feed is asked for, where they appear as tombstones (`archived_at` set).

    In the feed, every filter applies to the tombstones of hard-deleted initiatives too, on
    the initiative as it was when deleted: its columns from its delete event; its departments,
    systems, tags, alignments and dependencies from theirs, deleted with it. The alignment
    level counts those alignments against the live goals of the active vision, as for a live
    initiative; an alignment whose goal was hard-deleted since no longer counts for `goal`,
    `vision`, `theme`, `alignment` or `aligned`.
    """

    tombstone_as_is = frozenset(
        {
            *("stage", "kind", "owner", "risk_tier", "touchpoint", "journey_stage"),
            *("interaction_mode", "autonomy", "archived", "include_archived", "source"),
            *("external_id", "segment", "confidential", "customer_facing", "view"),
        }
    )

    # distinct=False: these match columns of the initiative itself, so no row can repeat;
    # DISTINCT over every selected column would make the database sort the whole match.
    stage = filters.MultipleChoiceFilter(
        choices=choices.Stage.choices, distinct=False, help_text=_("Repeatable.")
    )
    kind = filters.MultipleChoiceFilter(
        choices=choices.Kind.choices, distinct=False, help_text=_("Repeatable.")
    )
    department = by_slug(
        Department.objects.all(),
        str(_("department with slug")),
        method="filter_department",
        help_text=_("Lead or participating department, by slug."),
    )
    department_id = by_id(
        Department.objects.all(), str(_("department with id")), method="filter_department"
    )
    owner = by_person(field_name="owner", help_text=_("The owner's e-mail or id."))
    goal = by_goal_code(
        method="filter_goal", help_text=_("Aligned to this goal (code), at any strength.")
    )
    vision = by_id(
        Vision.objects.all(),
        str(_("vision with id")),
        method="filter_vision",
        help_text=_("Aligned to a goal of this vision (id)."),
    )
    theme = filters.CharFilter(
        method="filter_theme", help_text=_("Aligned to a goal of this theme.")
    )
    alignment = filters.MultipleChoiceFilter(
        method="filter_alignment",
        choices=choices.AlignmentLevel.choices,
        distinct=False,
        help_text=_("Derived alignment level to the active vision. Repeatable."),
    )
    aligned = StrictBooleanFilter(
        method="filter_aligned",
        help_text=_("true: aligned to a goal of the active vision; false: aligned to none."),
    )
    risk_tier = filters.MultipleChoiceFilter(choices=choices.RiskTier.choices, distinct=False)
    touchpoint = filters.ChoiceFilter(
        choices=choices.Touchpoint.choices, method="filter_touchpoint"
    )
    journey_stage = filters.ChoiceFilter(
        choices=choices.JourneyStage.choices, method="filter_journey_stage"
    )
    interaction_mode = filters.ChoiceFilter(choices=choices.InteractionMode.choices)
    autonomy = filters.MultipleChoiceFilter(choices=choices.Autonomy.choices, distinct=False)
    tag = KeyChoiceFilter(
        queryset=Tag.objects.all(),
        to_field_name="slug",
        field_name="tags",
        error_messages=_unknown(str(_("tag named"))),
    )
    q = filters.CharFilter(
        method="filter_q",
        help_text=_(
            'Full-text search (web search syntax: words, "phrases", -exclusions) over key, '
            "name, summary, hypothesis and learnings; an exact key also matches."
        ),
    )
    active_in = QuarterFilter(
        method="filter_active_in",
        help_text=_("Quarter such as 2026-Q4: start/end dates overlap it (open ends count)."),
    )
    updated_since = SinceFilter(
        field_name="updated_at",
        lookup_expr="gte",
        help_text=_(
            "ISO date or date-time. Switches to cursor pagination ordered by (updated_at, id) "
            "and includes archived initiatives as tombstones."
        ),
    )
    archived = StrictBooleanFilter(
        method="filter_archived", help_text=_("Default false: archived ones are left out.")
    )
    include_archived = StrictBooleanFilter(
        method="filter_passthrough", help_text=_("true: live and archived together.")
    )
    source = filters.CharFilter(help_text=_("The sync source, e.g. jira."))
    external_id = filters.CharFilter()
    system = by_slug(System.objects.all(), str(_("system with slug")), field_name="systems")
    segment = filters.CharFilter(method="filter_segment", help_text=_("A customer segment."))
    depends_on = by_initiative_key(
        method="filter_depends_on", help_text=_("Initiatives that need this one (key).")
    )
    confidential = StrictBooleanFilter()
    customer_facing = StrictBooleanFilter(help_text=_("true: initiatives customers meet."))
    ordering = OrderingFilter(
        fields=(
            ("key", "key"),
            ("name", "name"),
            ("stage_rank", "stage"),
            ("updated_at", "updated_at"),
            ("target_date", "target_date"),
            ("budget_planned", "budget"),
        ),
        tie_breaker="key",
        help_text=_("key, name, stage (lifecycle order), updated_at, target_date, budget; "),
    )

    class Meta:
        model = Initiative
        fields: list[str] = []

    def filter_department(self, queryset: QuerySet, name: str, value: Department) -> QuerySet:
        participating = Initiative.departments.through.objects.filter(
            initiative_id=OuterRef("pk"), department=value
        )
        return queryset.filter(Q(lead_department=value) | Exists(participating))

    def filter_goal(self, queryset: QuerySet, name: str, value: Goal) -> QuerySet:
        return queryset.filter(
            Exists(Alignment.objects.filter(initiative=OuterRef("pk"), goal=value))
        )

    def filter_vision(self, queryset: QuerySet, name: str, value: Vision) -> QuerySet:
        return queryset.filter(
            Exists(Alignment.objects.filter(initiative=OuterRef("pk"), goal__vision=value))
        )

    def filter_theme(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Exists(Alignment.objects.filter(initiative=OuterRef("pk"), goal__theme__iexact=value))
        )

    def filter_alignment(
        self, queryset: InitiativeQuerySet, name: str, value: list[str]
    ) -> InitiativeQuerySet:
        return queryset.alignment_level_in(value)

    def filter_aligned(
        self, queryset: InitiativeQuerySet, name: str, value: bool
    ) -> InitiativeQuerySet:
        none = [str(choices.AlignmentLevel.NONE)]
        others = [level for level in choices.AlignmentLevel.values if level not in none]
        return queryset.alignment_level_in(others if value else none)

    def filter_touchpoint(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(touchpoints__contains=[value])

    def filter_journey_stage(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(journey_stages__contains=[value])

    def filter_segment(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(customer_segments__contains=[value])

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        query = SearchQuery(value, search_type="websearch", config="english")
        # Keys are stored upper-case (AI-0042): an exact match on the upper-cased value finds
        # the same rows as iexact and, unlike UPPER(key), uses the key's unique index.
        return queryset.filter(Q(search_vector=query) | Q(key=value.strip().upper()))

    def filter_active_in(
        self, queryset: InitiativeQuerySet, name: str, value: str
    ) -> InitiativeQuerySet:
        return queryset.active_in(value)

    def filter_depends_on(self, queryset: QuerySet, name: str, value: Initiative) -> QuerySet:
        return queryset.filter(
            Exists(Dependency.objects.filter(from_initiative=OuterRef("pk"), to_initiative=value))
        )

    # The same filters on delete events (TombstoneFilters), on what the initiative had.

    def tombstone_department(self, events: QuerySet, value: Department) -> QuerySet:
        links = Initiative.departments.through
        participating = deleted_with(links, "department.remove", via="initiative", department=value)
        return events.filter(Q(lead_department=value) | Exists(participating))

    tombstone_department_id = tombstone_department

    def tombstone_system(self, events: QuerySet, value: System) -> QuerySet:
        links = Initiative.systems.through
        return events.filter(
            Exists(deleted_with(links, "system.remove", via="initiative", system=value))
        )

    def tombstone_tag(self, events: QuerySet, value: Tag) -> QuerySet:
        links = Initiative.tags.through
        return events.filter(Exists(deleted_with(links, "tag.remove", via="initiative", tag=value)))

    def tombstone_goal(self, events: QuerySet, value: Goal) -> QuerySet:
        return events.filter(Exists(_alignments_when_deleted(goal=value)))

    def tombstone_vision(self, events: QuerySet, value: Vision) -> QuerySet:
        return events.filter(Exists(_alignments_when_deleted(goal__vision=value)))

    def tombstone_theme(self, events: QuerySet, value: str) -> QuerySet:
        return events.filter(Exists(_alignments_when_deleted(goal__theme__iexact=value)))

    def tombstone_alignment(self, events: QuerySet, value: list[str]) -> QuerySet:
        # `with_alignment_level`'s rule on the alignments it had: the strongest to a live goal
        # of the active vision.
        strength_of = {str(level): n for n, level in ALIGNMENT_LEVEL_BY_STRENGTH.items()}
        strongest = (
            _alignments_when_deleted(
                goal__vision__status=choices.VisionStatus.ACTIVE, goal__archived_at__isnull=True
            )
            .order_by("-strength")
            .values("strength")[:1]
        )
        strength = Coalesce(Subquery(strongest), 0, output_field=IntegerField())
        return events.filter(In(strength, sorted({strength_of[str(level)] for level in value})))

    def tombstone_aligned(self, events: QuerySet, value: bool) -> QuerySet:
        none = str(choices.AlignmentLevel.NONE)
        levels = [level for level in choices.AlignmentLevel.values if (level == none) != value]
        return self.tombstone_alignment(events, levels)

    def tombstone_depends_on(self, events: QuerySet, value: Initiative) -> QuerySet:
        needs = deleted_with(Dependency, "delete", via="from_initiative", to_initiative=value)
        return events.filter(Exists(needs))

    def tombstone_q(self, events: QuerySet, value: str) -> QuerySet:
        # The search vector is a generated column, not kept in the history: computed here by
        # the column's own expression, on the few delete events.
        vector = Initiative._meta.get_field("search_vector").expression  # type: ignore[attr-defined]
        query = SearchQuery(value, search_type="websearch", config="english")
        return events.annotate(tombstone_search=vector).filter(
            Q(tombstone_search=query) | Q(key=value.strip().upper())
        )

    def tombstone_active_in(self, events: QuerySet, value: str) -> QuerySet:
        return events.filter(active_in_condition(value))


# --- strategy and organisation --------------------------------------------------------------


# --- the parts of an initiative -------------------------------------------------------------


# --- the change feed ------------------------------------------------------------------------
