"""Related objects in the API: a brief form for reads, written by natural key or id (see
`fields.NaturalKeyRelatedField`), shared by every resource's serializers.

Serializers of lists read only what the viewset prefetched or annotated, so a page of 500
costs as many queries as a page of 1.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.request import Request

from registry.api.core.fields import NaturalKeyRelatedField
from registry.models import (
    Department,
    Goal,
    Initiative,
    Person,
    Review,
    System,
    Tag,
    Vision,
    tag_slug,
)
from registry.selectors.visibility import visible_initiatives

TIMESTAMPS = ["created_at", "updated_at"]


def _visible_initiatives(request: Request | None) -> QuerySet:
    return visible_initiatives(getattr(request, "user", None))


# --- brief forms ----------------------------------------------------------------------------


class BriefPersonSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:person-detail")

    class Meta:
        model = Person
        fields = ["email", "id", "name", "url"]
        read_only_fields = fields


class BriefDepartmentSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:department-detail", lookup_field="slug"
    )

    class Meta:
        model = Department
        fields = ["slug", "id", "name", "url"]
        read_only_fields = fields


class BriefSystemSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:system-detail", lookup_field="slug")

    class Meta:
        model = System
        fields = ["slug", "id", "name", "url"]
        read_only_fields = fields


class BriefVisionSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:vision-detail")

    class Meta:
        model = Vision
        fields = ["id", "title", "status", "url"]
        read_only_fields = fields


class BriefGoalSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:goal-detail", lookup_field="code")

    class Meta:
        model = Goal
        fields = ["code", "id", "title", "url"]
        read_only_fields = fields


class BriefInitiativeSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(
        view_name="api:initiative-detail", lookup_field="key"
    )

    class Meta:
        model = Initiative
        fields = ["key", "id", "name", "url"]
        read_only_fields = fields


class BriefReviewSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:review-detail")

    class Meta:
        model = Review
        fields = ["id", "period", "status", "url"]
        read_only_fields = fields


def person_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="email",
        brief_serializer=BriefPersonSerializer,
        queryset=Person.objects.all(),
        case_insensitive=True,
        help_text=_("A person's e-mail (or id); read as {email, id, name, url}."),
        **kwargs,
    )


def department_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="slug",
        brief_serializer=BriefDepartmentSerializer,
        queryset=Department.objects.all(),
        help_text=_("A department's slug (or id); read as {slug, id, name, url}."),
        **kwargs,
    )


def system_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="slug",
        brief_serializer=BriefSystemSerializer,
        queryset=System.objects.all(),
        help_text=_("A system's slug (or id); read as {slug, id, name, url}."),
        **kwargs,
    )


def vision_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="id",
        brief_serializer=BriefVisionSerializer,
        queryset=Vision.objects.all(),
        help_text=_("A vision's id; read as {id, title, status, url}."),
        **kwargs,
    )


def goal_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="code",
        brief_serializer=BriefGoalSerializer,
        queryset=Goal.objects.live(),
        help_text=_("A goal's code such as G-NPS (or id); read as {code, id, title, url}."),
        **kwargs,
    )


def initiative_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="key",
        brief_serializer=BriefInitiativeSerializer,
        queryset=_visible_initiatives,
        help_text=_("An initiative's key such as AI-0042 (or id); read as {key, id, name, url}."),
        **kwargs,
    )


def review_field(**kwargs: Any) -> NaturalKeyRelatedField:
    return NaturalKeyRelatedField(
        natural_key="id",
        brief_serializer=BriefReviewSerializer,
        queryset=Review.objects.all(),
        help_text=_("A review's id; read as {id, period, status, url}."),
        **kwargs,
    )


class TagNameField(serializers.SlugRelatedField):
    """Tags are read by slug and written by slug or name ('Classical ML' is classical-ml);
    an unknown one is a 400 naming it."""

    default_error_messages = {
        "does_not_exist": _("No tag named '{value}'. The PMO creates tags."),
        "invalid": _("Give a tag's name."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", Tag.objects.all())
        super().__init__(slug_field="slug", **kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(tag_slug(data) or data)


# --- organisation and strategy --------------------------------------------------------------


# --- initiatives ----------------------------------------------------------------------------


# --- history --------------------------------------------------------------------------------
