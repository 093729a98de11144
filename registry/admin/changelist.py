"""Pieces of the changelists that keep a page's cost in check as the portfolio grows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.paginator import InvalidPage
from django.db.models import Exists, OuterRef
from django.http import HttpRequest

from registry.selectors.counting import exact_counts


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


class ExactCountChangeList(ChangeList):
    """Django's changelist with both of its counts exact and fetched in one statement.

    A changelist shows how many rows the filters select and, beside it, the "N total" of
    every row the user may see. Django counts them one after the other, each with the page
    query's annotations; here both are counted over their primary keys in one statement
    (`registry.selectors.counting.exact_counts`), once when they are the same query.
    """

    def get_results(self, request: HttpRequest) -> None:
        if not self.model_admin.show_full_result_count:
            super().get_results(request)
            return
        result_count, full_result_count = exact_counts([self.queryset, self.root_queryset])
        paginator = self.model_admin.get_paginator(request, self.queryset, self.list_per_page)
        paginator.__dict__["count"] = result_count  # the cached_property, already counted
        can_show_all = result_count <= self.list_max_show_all
        multi_page = result_count > self.list_per_page
        if (self.show_all and can_show_all) or not multi_page:
            result_list = self.queryset._clone()
        else:
            try:
                result_list = paginator.page(self.page_num).object_list
            except InvalidPage as error:
                raise IncorrectLookupParameters from error
        self.result_count = result_count
        self.show_full_result_count = True
        self.show_admin_actions = bool(full_result_count)
        self.full_result_count = full_result_count
        self.result_list = result_list
        self.can_show_all = can_show_all
        self.multi_page = multi_page
        self.paginator = paginator
