"""The Django admin: the PMO's daily tool for the portfolio, one module per area.

Thin by design: every write goes through a service (`registry.services`), every queryset a
person sees through a selector (`registry.selectors`). What the admin adds is presentation
and one safety net: a refused rule is shown on the form the user submitted, never as a
server error (`registry.admin.base`). Registration happens here and only here: Django's
autodiscovery imports this package, which imports each area.
"""

from django.contrib import admin
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from registry.admin import (  # noqa: F401  (each module registers its model admins)
    import_mappings,
    initiatives,
    learning,
    organisation,
    parts,
    reviews,
    saved_views,
    strategy,
    tokens,
    webhooks,
)

admin.site.site_header = _("AI-CX Portfolio Registry")
admin.site.site_title = _("AI-CX Portfolio")
admin.site.index_title = _("Portfolio administration")
# The stock index with the board's pages on top; "View site" opens the dashboard.
admin.site.index_template = "registry/admin_index.html"
admin.site.site_url = reverse_lazy("registry_board:dashboard")
