"""Labels in the reader's language for the third-party admin pages the PMO sees.

django-pghistory's event browser (linked from every tracked object as "Events") ships English
names without translation markers. Its app name, filter titles and columns are given
translatable labels here; model and field verbose names are left alone, because migrations
record them. Called once from the registry's AppConfig.ready(), after pghistory's admin has
registered itself.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

# pghistory's object-tools templates say {% trans "Events" %}; this puts it in our catalogue.
EVENTS_BUTTON = _("Events")
# Same text as pghistory's own verbose_name_plural, so the migration state does not change.
EVENTS_PLURAL = _("events")

# pghistory's `method` filter: an object's own events, or events of rows that refer to it.
METHODS = {"tracks": _("its own changes"), "references": _("changes referring to it")}

FILTER_TITLES = {
    "LabelFilter": _("event"),
    "EventModelFilter": _("event table"),
    "MethodFilter": _("scope"),
    "ObjFilter": _("object"),
    "ModelFilter": _("model"),
}


def _events_admin_class(base: type[admin.ModelAdmin]) -> type[admin.ModelAdmin]:
    class TranslatedEventsAdmin(base):  # type: ignore[valid-type,misc]
        """pghistory's events browser with translatable column headings."""

        @admin.display(description=_("when"), ordering="pgh_created_at")
        def event_time(self, obj: Any) -> Any:
            return obj.pgh_created_at

        @admin.display(description=_("what"))
        def event_object_model(self, obj: Any) -> str:
            return obj.pgh_obj_model

        @admin.display(description=_("object id"))
        def event_object_id(self, obj: Any) -> str:
            return obj.pgh_obj_id

        @admin.display(description=_("event"))
        def event_label(self, obj: Any) -> str:
            return obj.pgh_label

        @admin.display(description=_("changes"))
        def event_changes(self, obj: Any) -> str:
            return json.dumps(obj.pgh_diff, ensure_ascii=False) if obj.pgh_diff else "—"

        @admin.display(description=_("context"))
        def event_context(self, obj: Any) -> str:
            context = obj.pgh_context or {}
            return ", ".join(
                f"{key}: {context[key]}" for key in ("channel", "actor") if context.get(key)
            )

        def changelist_view(self, request: Any, extra_context: Any = None) -> Any:
            response = super().changelist_view(request, extra_context)
            method, context = request.GET.get("method"), getattr(response, "context_data", None)
            if method in METHODS and context and context.get("subtitle"):
                # pghistory titles the page "Tracks <object>"; say it in the reader's language.
                context["subtitle"] = context["subtitle"].replace(method.title(), "", 1).strip()
                context["subtitle"] = f"{context['subtitle']}: {METHODS[method]}"
            return response

        def get_list_display(self, request: Any) -> list[str]:
            return [
                "event_time",
                "event_label",
                "event_object_model",
                "event_object_id",
                "event_changes",
                "event_context",
            ]

    return TranslatedEventsAdmin


def _method_lookups(self: Any, request: Any, model_admin: Any) -> list[tuple[str, Any]]:
    return list(METHODS.items())


def label_third_party_admin() -> None:
    """Give pghistory's admin translatable labels (idempotent)."""
    from django.apps import apps

    if not apps.is_installed("pghistory.admin"):
        return
    from pghistory import config
    from pghistory.admin import core

    apps.get_app_config("pghistory").verbose_name = _("Change history")
    events_model = config.admin_queryset().model
    events_model._meta.verbose_name_plural = EVENTS_PLURAL
    for name, title in FILTER_TITLES.items():
        getattr(core, name).title = title
    core.MethodFilter.lookups = _method_lookups  # type: ignore[method-assign]
    registered = admin.site._registry.get(events_model)
    if registered is not None and not getattr(registered, "_registry_translated", False):
        admin.site.unregister(events_model)
        translated = _events_admin_class(type(registered))
        translated._registry_translated = True  # type: ignore[attr-defined]
        admin.site.register(events_model, translated)
