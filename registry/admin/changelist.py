"""Pieces of the initiative changelist that keep a page's cost flat as the portfolio grows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef
from django.http import HttpRequest


class LeadDepartmentFilter(admin.RelatedOnlyFieldListFilter):
    """Departments that lead at least one initiative the user may see.

    Django's RelatedOnlyFieldListFilter collects them with SELECT DISTINCT over every
    initiative (a scan of the whole portfolio on each changelist page); an EXISTS per
    department probes the lead-department index instead.
    """

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list:
        leads = model_admin.get_queryset(request).order_by().filter(lead_department=OuterRef("pk"))
        departments = field.related_model._default_manager.filter(Exists(leads))
        ordering = self.field_admin_ordering(field, request, model_admin)
        return field.get_choices(
            include_blank=False,
            ordering=ordering,
            limit_choices_to={"pk__in": departments.values("pk")},
        )
