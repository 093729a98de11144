"""Admin for API tokens: create one (its secret is shown once, on the page that follows),
see when each was last used, revoke.

Registered from `portfolio/urls.py`, next to where the admin site is mounted.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import RequestContext, Template
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registry.services.tokens import ApiToken, api_token_create, api_token_revoke

SECRET_PAGE = Template(
    """{% extends "admin/base_site.html" %}{% load i18n %}
{% block content %}
<h1>{% blocktranslate with name=token.name %}API token “{{ name }}” created{% endblocktranslate %}
</h1>
<p>{% translate "Copy the token now. It is stored only as a hash and is not shown again." %}</p>
<pre id="api-token-secret" style="font-size:1.2em;padding:1em;background:var(--darkened-bg)">
{{ secret }}</pre>
<p>{% translate "Use it as:" %} <code>Authorization: Token {{ secret }}</code></p>
<p><a href="{{ changelist_url }}">{% translate "Back to API tokens" %}</a></p>
{% endblock %}"""
)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "source",
        "can_create_tags",
        "key_prefix",
        "state",
        "created_at",
        "last_used_at",
        "expires_at",
    ]
    list_select_related = ["user"]
    list_filter = ["source", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "user__username", "source", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at", "revoked_at"]
    raw_id_fields = ["user"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        editable = ["name", "user", "source", "can_create_tags", "expires_at"]
        return editable if obj is None else [*editable, *self.readonly_fields]

    @admin.display(description=_("state"))
    def state(self, obj: ApiToken) -> str:
        if obj.is_revoked:
            return str(_("revoked"))
        if obj.is_expired():
            return str(_("expired"))
        return str(_("active"))

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)  # name, tags, expiry: PMO only
            return
        token, secret = api_token_create(
            name=obj.name,
            user=obj.user,
            source=obj.source,
            can_create_tags=obj.can_create_tags,
            expires_at=obj.expires_at,
            actor=request.user,
        )
        request._api_token_secret = secret  # type: ignore[attr-defined]
        obj.pk = token.pk
        obj._state.adding = False
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the secret on the page right after creation instead of redirecting, so it is
        never stored anywhere (not even in a message cookie).
        """
        secret = getattr(request, "_api_token_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": _("API token created"),
            "token": obj,
            "secret": secret,
            "changelist_url": reverse("admin:registry_apitoken_changelist"),
            "opts": self.model._meta,
        }
        response = HttpResponse(SECRET_PAGE.render(RequestContext(request, context)))
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = 0
        for token in queryset.filter(revoked_at__isnull=True):
            api_token_revoke(token=token, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        initial.setdefault("expires_at", timezone.now() + datetime.timedelta(days=365))
        return initial
