"""Saved import mappings in the admin (PMO only): listed, read, edited as YAML and deleted.

Built mostly on the mapping builder's pages; this admin is where the PMO finds them again, and
where a finished mapping can be tuned by hand. Saving goes through
`registry.services.import_mappings`, which parses the YAML as a mapping first.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from registry import permissions
from registry.models import ImportMapping
from registry.permissions import Actor
from registry.services.errors import RefusedError
from registry.services.import_mappings import (
    import_mapping_check,
    import_mapping_delete,
    import_mapping_save,
)
from registry.spreadsheets import builder


class ImportMappingAdminForm(forms.ModelForm):
    """Shows what `import_mapping_save` would refuse on the field it concerns."""

    actor: Actor = Actor()
    # Any words: the service makes the name a slug ("Road map" → road-map), as the builder does.
    name = forms.CharField(
        label=_("name"), max_length=80, help_text=ImportMapping._meta.get_field("name").help_text
    )

    class Meta:
        model = ImportMapping
        fields = ["name", "yaml"]
        widgets = {
            "yaml": forms.Textarea(attrs={"rows": 30, "cols": 100, "class": "vLargeTextField"})
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            cleaned["name"] = import_mapping_check(
                actor=self.actor,
                name=cleaned.get("name", ""),
                yaml_text=cleaned.get("yaml", ""),
                mapping=self.instance if self.instance.pk is not None else None,
                **builder.mapping_rules(cleaned.get("name", "")),
            )
        except RefusedError as error:
            self.add_error(error.field, error.message)
        return cleaned

    def validate_unique(self) -> None:
        """The service says it, in the same words as the builder's save form."""


@admin.register(ImportMapping)
class ImportMappingAdmin(admin.ModelAdmin):
    """The PMO's saved mappings; nobody else sees them."""

    form = ImportMappingAdminForm
    list_display = ("name", "created_by", "updated_at", "use_link")
    list_select_related = ("created_by",)
    search_fields = ("name", "yaml")
    fields = ("name", "yaml", "created_by", "updated_at", "use_link")
    readonly_fields = ("created_by", "updated_at", "use_link")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.is_pmo(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.is_pmo(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.is_pmo(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.is_pmo(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.is_pmo(request.user)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        # The form checks as the person saving (an Actor without a user is a command's run).
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = Actor(user=request.user)  # type: ignore[attr-defined]
        return form

    @admin.display(description=_("use"))
    def use_link(self, obj: ImportMapping) -> str:
        if obj.pk is None:
            return "—"
        url = reverse("registry_import:start") + f"?mapping={obj.name}"
        return format_html('<a href="{}">{}</a>', url, _("Import a file with it"))

    def save_model(self, request: HttpRequest, obj: ImportMapping, form: Any, change: bool) -> None:
        data = form.cleaned_data
        saved = import_mapping_save(
            actor=Actor(user=request.user),
            name=data["name"],
            yaml_text=data["yaml"],
            mapping=ImportMapping.objects.get(pk=obj.pk) if change else None,
            **builder.mapping_rules(data["name"]),
        )
        obj.pk, obj.name, obj.created_by_id = saved.pk, saved.name, saved.created_by_id
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: ImportMapping) -> None:
        import_mapping_delete(actor=Actor(user=request.user), mapping=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for mapping in queryset:
            import_mapping_delete(actor=Actor(user=request.user), mapping=mapping)
