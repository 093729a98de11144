"""Saved views in the admin: their own admin, and the "saved view" filter of the initiative
changelist, which applies a view through the API's InitiativeFilterSet (one rule, two places).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry import permissions
from registry.permissions import Actor
from registry.selectors.saved_views import saved_view_resolve
from registry.selectors.visibility import listed_saved_views, visible_saved_views
from registry.services.errors import RefusedError
from registry.services.saved_views import (
    SavedView,
    SavedViewError,
    saved_view_check,
    saved_view_delete,
    saved_view_save,
)


def changelist_url(view: SavedView) -> str:
    """The initiative changelist filtered by the view."""
    query = QueryDict(mutable=True)
    query["view"] = str(view.pk)
    return f"{reverse('admin:registry_initiative_changelist')}?{query.urlencode()}"


class SavedViewFilter(admin.SimpleListFilter):
    """The user's own and the shared saved views; choosing one applies its filters."""

    title = _("saved view")
    parameter_name = "view"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        views = listed_saved_views(request.user).select_related("owner")
        return [
            (str(view.pk), str(view) if view.owner_id == request.user.pk else f"{view} ★")
            for view in views
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet | None:
        from registry.selectors.filters import InitiativeFilterSet

        reference = self.value()
        if reference is None:
            return None
        try:
            view = saved_view_resolve(reference, user=request.user)
        except SavedViewError as error:
            raise IncorrectLookupParameters(error.message) from error
        data = view.filters().copy()
        # The changelist orders and shows archived ones itself (its own filters decide).
        data.pop("ordering", None)
        if "archived" not in data:
            data["include_archived"] = "true"
        applied = InitiativeFilterSet(data=data, queryset=queryset, request=request)
        if not applied.is_valid():  # a filter's object was deleted since the view was saved
            raise IncorrectLookupParameters(applied.errors)
        return applied.qs


class SavedViewAdminForm(forms.ModelForm):
    """Shows what `saved_view_save` would refuse on the field it concerns."""

    actor: Actor = Actor()

    class Meta:
        model = SavedView
        fields = ["name", "slug", "shared", "query", "description"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        view = self.instance if self.instance.pk is not None else None
        try:
            cleaned["slug"], cleaned["query"] = saved_view_check(
                actor=self.actor,
                view=SavedView.objects.get(pk=view.pk) if view is not None else None,
                name=cleaned.get("name", ""),
                slug=cleaned.get("slug", ""),
                shared=cleaned.get("shared", False),
                query=cleaned.get("query", ""),
            )
        except RefusedError as error:
            self.add_error(error.field, error.message)
        return cleaned


@admin.register(SavedView)
class SavedViewAdmin(admin.ModelAdmin):
    """Everyone keeps their own views; shared ones are read by all, changed by their owner and
    the PMO.
    """

    form = SavedViewAdminForm
    list_display = ("name", "slug", "owner", "shared", "query", "open_link")
    list_filter = ("shared",)
    list_select_related = ("owner",)
    search_fields = ("name", "slug", "query", "description")
    fields = ("name", "slug", "shared", "query", "description", "owner", "open_link")
    readonly_fields = ("owner", "open_link")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return visible_saved_views(request.user, super().get_queryset(request))

    def _writable(self, request: HttpRequest, obj: SavedView | None) -> bool:
        return obj is None or permissions.can_change_saved_view(request.user, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._writable(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._writable(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        if permissions.can_share_saved_view(request.user) or (obj is not None and obj.shared):
            return readonly
        return ("shared", *readonly)

    def save_model(self, request: HttpRequest, obj: SavedView, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = saved_view_save(
            actor=Actor(user=request.user),
            view=SavedView.objects.get(pk=obj.pk) if change else None,
            name=data["name"],
            slug=data.get("slug", ""),
            shared=data.get("shared", obj.shared),
            query=data.get("query", ""),
            description=data.get("description", ""),
        )
        obj.pk, obj.owner_id = saved.pk, saved.owner_id
        obj.slug, obj.query = saved.slug, saved.query
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: SavedView) -> None:
        saved_view_delete(actor=Actor(user=request.user), view=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for view in queryset:
            saved_view_delete(actor=Actor(user=request.user), view=view)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        form_class.actor = Actor(user=request.user)  # type: ignore[attr-defined]
        return form_class

    @admin.display(description=_("initiatives"))
    def open_link(self, obj: SavedView) -> str:
        if obj.pk is None:
            return "–"
        return format_html('<a href="{}">{}</a>', changelist_url(obj), _("Open the list"))
