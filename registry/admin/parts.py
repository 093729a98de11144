"""Admins of the rows that belong to an initiative, on their own pages: alignments,
dependencies, team roles, notes and the stage journal (read-only).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from registry import permissions
from registry.admin.base import InitiativePartAdminMixin, RegistryModelAdmin
from registry.models import (
    Alignment,
    Dependency,
    Note,
    StageChange,
    TeamRole,
)


@admin.register(Alignment)
class AlignmentAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
    list_display = ("initiative", "goal", "strength", "is_primary", "expected_impact")
    list_filter = ("strength", "is_primary", "goal__vision")
    list_select_related = ("initiative", "goal")
    search_fields = ("initiative__key", "initiative__name", "goal__code", "goal__title")
    autocomplete_fields = ("initiative", "goal")
    readonly_fields = ("version", "created_at", "updated_at")


@admin.register(Dependency)
class DependencyAdmin(InitiativePartAdminMixin, RegistryModelAdmin):
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
