"""Admins of the organisation: departments, people, systems and tags."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry.admin.base import RegistryModelAdmin
from registry.models import (
    Department,
    Person,
    System,
    Tag,
)


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
    list_display = ("name", "slug", "initiative_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The slug is how tools name the tag: derived once, then kept when the name changes.
        readonly = tuple(super().get_readonly_fields(request, obj))
        return (*readonly, "slug") if obj is not None else readonly

    def get_prepopulated_fields(self, request: HttpRequest, obj: Any = None) -> dict:
        return {} if obj is not None else dict(self.prepopulated_fields)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(initiative_total=Count("initiatives"))

    @admin.display(description=_("initiatives"), ordering="initiative_total")
    def initiative_count(self, obj: Tag) -> int:
        return getattr(obj, "initiative_total", 0)
