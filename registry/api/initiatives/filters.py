"""`?view=` on the initiative list: a saved view's filters, with explicit parameters on top."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from registry.selectors.filters import InitiativeFilterSet
from registry.selectors.saved_views import merged_filters, saved_view_resolve
from registry.services.saved_views import SavedViewError


class InitiativeListFilterSet(InitiativeFilterSet):
    """The initiative filters plus `view`: the named saved view's filters apply, and any
    filter given explicitly replaces the view's value for that filter.
    """

    view = filters.CharFilter(
        method="filter_view",
        help_text=_(
            "A saved view (id, or slug: your own first, else a shared one) whose filters "
            "apply; explicit parameters override the view's."
        ),
    )

    def __init__(
        self,
        data: Any = None,
        queryset: QuerySet | None = None,
        *,
        request: Any = None,
        prefix: str | None = None,
    ) -> None:
        if data is not None and data.get("view"):
            try:
                view = saved_view_resolve(data["view"], user=getattr(request, "user", None))
            except SavedViewError as error:
                raise ValidationError({error.field: [error.message]}, code=error.code) from None
            data = merged_filters(view, data)
        super().__init__(data, queryset, request=request, prefix=prefix)

    def filter_view(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # applied in __init__, as the filters it names
