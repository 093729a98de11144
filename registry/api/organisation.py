"""`/departments/`, `/people/`, `/systems/` and `/tags/`: the organisation and its
platforms, addressed by natural key.
"""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import (
    Q,
    QuerySet,
)
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from registry import choices
from registry.api.core.permissions import TagWrites
from registry.api.core.relations import TIMESTAMPS, department_field
from registry.api.core.viewsets import RegistryViewSet
from registry.models import (
    Department,
    Person,
    System,
    Tag,
    tag_slug,
)
from registry.selectors.filters import OrderingFilter, StrictBooleanFilter, by_id, by_slug


class DepartmentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:department-detail", lookup_field="slug"
    )

    class Meta:
        model = Department
        fields = ["url", "id", "slug", "name", "function", *TIMESTAMPS]
        read_only_fields = ["id", *TIMESTAMPS]


class PersonSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:person-detail")
    department = department_field(allow_null=True, required=False)
    has_login = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["url", "id", "name", "email", "department", "title", "has_login", *TIMESTAMPS]
        read_only_fields = ["id", *TIMESTAMPS]

    def get_has_login(self, obj: Person) -> bool:
        return obj.user_id is not None

    def validate_email(self, value: str) -> str:
        return value.strip().lower()


class SystemSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:system-detail", lookup_field="slug")
    owner_department = department_field(allow_null=True, required=False)

    class Meta:
        model = System
        fields = [
            "url",
            "id",
            "slug",
            "name",
            "category",
            "owner_department",
            "vendor",
            "contains_personal_data",
            *TIMESTAMPS,
        ]
        read_only_fields = ["id", *TIMESTAMPS]


class TagSerializer(serializers.ModelSerializer):
    """A label: `name` as people write it; `slug` derived from it on creation, then kept."""

    url = serializers.HyperlinkedIdentityField(view_name="api:tag-detail", lookup_field="slug")

    class Meta:
        model = Tag
        fields = ["url", "id", "name", "slug"]
        read_only_fields = ["id", "slug"]
        # Uniqueness of the slug is checked in validate_name, where the slug is derived.
        validators: list[Any] = []

    def validate_name(self, value: str) -> str:
        name = " ".join(value.split())
        if not name:
            raise serializers.ValidationError(_("A tag needs a name."), code="blank")
        if self.instance is None:
            taken = Tag.objects.filter(slug=tag_slug(name)).first()
            if taken is not None:
                raise serializers.ValidationError(
                    _("The tag '%(name)s' (%(slug)s) already exists.")
                    % {"name": taken.name, "slug": taken.slug},
                    code="unique",
                )
        return name

    def create(self, validated_data: dict[str, Any]) -> Tag:
        return super().create({**validated_data, "slug": tag_slug(validated_data["name"])})


class DepartmentFilterSet(filters.FilterSet):
    function = filters.MultipleChoiceFilter(choices=choices.DepartmentFunction.choices)
    q = filters.CharFilter(field_name="name", lookup_expr="icontains")
    ordering = OrderingFilter(fields=("name", "slug"))

    class Meta:
        model = Department
        fields: list[str] = []


class PersonFilterSet(filters.FilterSet):
    department = by_slug(Department.objects.all(), str(_("department with slug")))
    department_id = by_id(
        Department.objects.all(), str(_("department with id")), field_name="department"
    )
    email = filters.CharFilter(lookup_expr="iexact")
    has_login = StrictBooleanFilter(field_name="user", lookup_expr="isnull", exclude=True)
    q = filters.CharFilter(method="filter_q", help_text=_("Part of the name or e-mail."))
    ordering = OrderingFilter(fields=("name", "email"))

    class Meta:
        model = Person
        fields: list[str] = []

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(email__icontains=value))


class SystemFilterSet(filters.FilterSet):
    category = filters.MultipleChoiceFilter(choices=choices.SystemCategory.choices)
    owner_department = by_slug(Department.objects.all(), str(_("department with slug")))
    vendor = filters.CharFilter(lookup_expr="iexact")
    contains_personal_data = StrictBooleanFilter()
    q = filters.CharFilter(field_name="name", lookup_expr="icontains")
    ordering = OrderingFilter(fields=("name", "slug", "category"))

    class Meta:
        model = System
        fields: list[str] = []


class TagFilterSet(filters.FilterSet):
    q = filters.CharFilter(method="filter_q", label=_("Name or slug contains"))
    ordering = OrderingFilter(fields=("name", "slug"))

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))

    class Meta:
        model = Tag
        fields: list[str] = []


class DepartmentViewSet(RegistryViewSet):
    """Organisational units, addressed by slug; one still in use cannot be deleted (409)."""

    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer
    filterset_class = DepartmentFilterSet
    lookup_field = "slug"


class PersonViewSet(RegistryViewSet):
    """Owners, sponsors and team members."""

    queryset = Person.objects.select_related("department")
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet


class SystemViewSet(RegistryViewSet):
    """Platforms and data assets initiatives use, addressed by slug."""

    queryset = System.objects.select_related("owner_department")
    serializer_class = SystemSerializer
    filterset_class = SystemFilterSet
    lookup_field = "slug"


class TagViewSet(RegistryViewSet):
    """Labels, addressed by slug; created by name (the slug is derived)."""

    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filterset_class = TagFilterSet
    permission_classes = [TagWrites]
    lookup_field = "slug"
