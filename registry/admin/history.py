"""The admin's history of an object is its complete history, from the database's triggers.

Django's own "History" page lists only what was done in the admin (its LogEntry). The
registry records every change — admin, API, sync, import, commands, bulk writes — with
django-pghistory, so for tracked models the "History" button opens pghistory's event browser,
filtered to the object and everything that refers to it (an initiative's alignments, team,
links and decisions), each event with actor, channel and the fields changed before → after.
The browser is the PMO's (it shows confidential initiatives too); others keep Django's page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.contrib.admin.utils import quote
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse

from registry.permissions import is_pmo

if TYPE_CHECKING:
    from django.contrib import admin

    _AdminBase = admin.ModelAdmin
else:
    _AdminBase = object

EVENTS_VIEW_PERMISSION = "pghistory.view_events"


def events_url(obj: Any, *, back: str = "") -> str | None:
    """The event browser for `obj` and what refers to it; None if the browser is missing."""
    try:
        base = reverse("admin:pghistory_events_changelist")
    except NoReverseMatch:
        return None
    query = {"method": "references", "obj": f"{obj._meta.label}:{obj.pk}"}
    if back:
        query["back"] = back
    return f"{base}?{urlencode(query)}"


def may_browse_events(user: Any) -> bool:
    return is_pmo(user) and bool(user.has_perm(EVENTS_VIEW_PERMISSION))


class TriggerHistoryMixin(_AdminBase):
    """`History` shows the trigger-recorded events of tracked models (for the PMO)."""

    def history_view(
        self, request: HttpRequest, object_id: str, extra_context: dict | None = None
    ) -> HttpResponse:
        tracked = hasattr(self.model, "pgh_event_models")
        if tracked and may_browse_events(request.user):
            obj = self.get_object(request, object_id)
            if obj is not None and self.has_view_or_change_permission(request, obj):
                back = reverse(
                    f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                    args=[quote(obj.pk)],
                    current_app=self.admin_site.name,
                )
                url = events_url(obj, back=back)
                if url:
                    return HttpResponseRedirect(url)
        return super().history_view(request, object_id, extra_context)


class StageJournalGoesWithItsInitiativeMixin(_AdminBase):
    """A superuser's hard delete of an initiative takes its stage journal with it.

    StageChange rows are never deleted on their own (their admin refuses), which Django's
    delete page would otherwise count as a missing permission and refuse the delete. The
    deletion itself is recorded by the history triggers (initiative and its parts).
    """

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        from registry.models import StageChange

        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        journal = str(StageChange._meta.verbose_name)
        return deleted, counts, {p for p in perms_needed if str(p) != journal}, protected
