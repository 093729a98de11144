"""`{% board_nav %}`: the board's pages, one click from the admin index and from every board
page — the dashboard, the customer journey page, the current review's walkthrough (or the
last one's), its board summary, the spreadsheet import and the mapping builder (for the PMO),
saved views and the
initiative list.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from registry import permissions
from registry.board.imports import may_import
from registry.selectors.reviews import current_reviews

register = template.Library()


@register.inclusion_tag("registry/_board_nav.html", takes_context=True)
def board_nav(context: dict[str, Any], current: str = "") -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    open_review, last_closed = current_reviews()
    return {
        "current": current,
        "dashboard_url": reverse("registry_board:dashboard"),
        "journey_url": reverse("registry_board:journey"),
        "open_review": open_review,
        "last_closed": last_closed,
        "import_url": (reverse("registry_import:start") if may_import(user) else None),
        "builder_url": (reverse("registry_import:builder-start") if may_import(user) else None),
        "initiatives_url": reverse("admin:registry_initiative_changelist"),
        "saved_views_url": reverse("admin:registry_savedview_changelist"),
        "can_read": permissions.can_read(user),
    }
