"""`/api/v1/saved-views/`: named, shareable filter sets of the initiative list.

Everyone with a role reads their own views and the shared ones and keeps views of their own;
a view is changed or deleted by its owner, and the PMO manages all (the PMO also sees
everyone's private views). Others' private views are a 404, not a 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import django_filters as filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.reverse import reverse
from rest_framework.serializers import BaseSerializer

from registry import permissions as rules
from registry.api.core.authentication import request_actor
from registry.api.core.permissions import RegistryPermission
from registry.api.core.viewsets import RegistryViewSet
from registry.selectors.filters import StrictBooleanFilter
from registry.selectors.visibility import visible_saved_views
from registry.services.saved_views import SavedView, saved_view_delete, saved_view_save


class SavedViewSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:savedview-detail")
    slug = serializers.SlugField(
        max_length=60,
        required=False,
        allow_blank=True,
        help_text=_("Names the view in ?view=; made from the name if left out."),
    )
    owner: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    filters = serializers.SerializerMethodField()
    initiatives = serializers.SerializerMethodField()

    class Meta:
        model = SavedView
        fields = [
            "url",
            "id",
            "name",
            "slug",
            "owner",
            "shared",
            "query",
            "filters",
            "description",
            "initiatives",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "owner", "created_at", "updated_at"]
        validators: list = []  # (owner, slug) is unique: a duplicate answers 409

    @extend_schema_field(
        serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    )
    def get_filters(self, obj: SavedView) -> dict[str, list[str]]:
        parsed = obj.filters()
        return {name: parsed.getlist(name) for name in parsed}

    @extend_schema_field(OpenApiTypes.URI)
    def get_initiatives(self, obj: SavedView) -> str:
        """The initiative list with this view applied."""
        base = reverse("api:initiative-list", request=self.context.get("request"))
        return f"{base}?{urlencode({'view': obj.pk})}"

    def save(self, **kwargs: Any) -> SavedView:
        """Through `saved_view_save`: every rule of a saved view lives there."""
        data = self.validated_data
        current = self.instance

        def value(name: str, default: Any) -> Any:
            return data.get(name, getattr(current, name, default) if current else default)

        self.instance = saved_view_save(
            actor=request_actor(self.context["request"]),
            view=current,
            name=value("name", ""),
            # A renamed view keeps its slug unless a new one (or an empty one) is sent.
            slug=data["slug"] if "slug" in data else getattr(current, "slug", ""),
            shared=value("shared", False),
            query=value("query", ""),
            description=value("description", ""),
        )
        return self.instance


class SavedViewFilterSet(filters.FilterSet):
    shared = StrictBooleanFilter()
    mine = StrictBooleanFilter(method="filter_mine", help_text=_("true: only your own views."))
    slug = filters.CharFilter()

    class Meta:
        model = SavedView
        fields: list[str] = []

    def filter_mine(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        user = getattr(self.request, "user", None)
        return queryset.filter(owner=user) if value else queryset.exclude(owner=user)


class SavedViewAccess(RegistryPermission):
    """Every role keeps views of its own; changing one is for its owner and the PMO."""

    def may_write(self, request: Request, view: Any) -> bool:
        return True  # every role with read access keeps views of its own

    def may_write_object(self, request: Request, view: Any, obj: Any) -> bool:
        self.message = _("Only its owner or the PMO changes a saved view.")
        return rules.can_change_saved_view(request.user, obj)


class SavedViewViewSet(RegistryViewSet):
    """Named, shareable filter sets of the initiative list (`/initiatives/?view=<id or slug>`).

    Private views are their owner's (the PMO sees and manages all); shared ones are listed for
    everyone. `query` uses the initiative list's own filter names and is checked like the list
    checks them.
    """

    serializer_class = SavedViewSerializer
    filterset_class = SavedViewFilterSet
    permission_classes = [SavedViewAccess]

    def get_queryset(self) -> QuerySet:
        return visible_saved_views(self.request.user).select_related("owner")

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = self.refetch(serializer.save())

    def perform_destroy(self, instance: SavedView) -> None:
        saved_view_delete(actor=request_actor(self.request), view=instance)
