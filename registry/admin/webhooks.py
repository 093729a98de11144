"""Admin of webhook subscriptions and the delivery log (with a redeliver action).

Kept apart from `registry.admin` so the webhook feature is one unit; imported by
`registry.services.webhooks`, so it is registered wherever the models are loaded.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from registry.services.webhooks import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookSubscription,
    webhook_delivery_redeliver,
    webhook_ping,
    webhook_subscription_create,
    webhook_subscription_update,
    webhook_target_refusal,
)


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"),
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The events this subscription receives."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ["name", "url", "events", "source", "department", "goal", "is_active", "secret"]
        widgets = {"secret": forms.TextInput(attrs={"size": 60, "autocomplete": "off"})}

    def clean_url(self) -> str:
        """The service's rule for targets, shown on the form (it checks again on saving)."""
        url = self.cleaned_data["url"]
        refusal = webhook_target_refusal(url) if url else None
        if refusal is not None:
            raise forms.ValidationError(refusal, code="webhook_target_refused")
        return url


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = [
        "name",
        "url",
        "event_list",
        "filter_list",
        "is_active",
        "pending_count",
        "failed_count",
    ]
    list_filter = ["is_active"]
    list_select_related = ["department", "goal"]
    search_fields = ["name", "url"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    actions = ["send_ping"]
    fieldsets = [
        (None, {"fields": ["name", "url", "events", "is_active"]}),
        (_("Filters"), {"fields": ["source", "department", "goal"]}),
        (
            _("Signature"),
            {
                "fields": ["secret"],
                "description": _(
                    "Receivers verify X-Registry-Signature: sha256=HMAC-SHA256(secret, body)."
                ),
            },
        ),
        (_("Record"), {"fields": ["created_by", "created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)),
                failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            )
        )

    @admin.display(description=_("events"))
    def event_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events)

    @admin.display(description=_("filters"))
    def filter_list(self, obj: WebhookSubscription) -> str:
        parts = []
        if obj.source:
            parts.append(f"source={obj.source}")
        if obj.department is not None:
            parts.append(f"department={obj.department.slug}")
        if obj.goal is not None:
            parts.append(f"goal={obj.goal.code}")
        return ", ".join(parts) or "—"

    @admin.display(description=_("pending"), ordering="pending")
    def pending_count(self, obj: WebhookSubscription) -> int:
        return getattr(obj, "pending", 0)

    @admin.display(description=_("gave up"), ordering="failed")
    def failed_count(self, obj: WebhookSubscription) -> int:
        return getattr(obj, "failed", 0)

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form, change) -> None:
        """Through `registry.services.webhooks`, which checks the URL and the actor."""
        values = {
            name: form.cleaned_data[name]
            for name in WebhookSubscriptionForm.Meta.fields
            if name in form.cleaned_data
        }
        if change:
            stored = WebhookSubscription.objects.get(pk=obj.pk)
            changed = {name: values[name] for name in form.changed_data if name in values}
            saved = webhook_subscription_update(subscription=stored, actor=request.user, **changed)
        else:
            saved = webhook_subscription_create(actor=request.user, **values)
        obj.pk = saved.pk
        obj._state.adding = False
        for field in WebhookSubscription._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))

    @admin.action(
        description=_("Send a ping to the selected subscriptions"),
        permissions=["change"],
    )
    def send_ping(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for subscription in queryset:
            webhook_ping(subscription=subscription, actor=request.user)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Queued a ping for %(n)d subscription.",
                "Queued pings for %(n)d subscriptions.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "subscription",
        "event_type",
        "ordering_key",
        "status_badge",
        "attempts",
        "last_status_code",
        "short_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event_type", "subscription"]
    list_select_related = ["subscription", "event"]
    search_fields = ["=id", "ordering_key", "last_error"]
    actions = ["redeliver"]
    fields = readonly_fields = (
        "id",
        "subscription",
        "event_type",
        "ordering_key",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "locked_by",
        "locked_until",
        "created_at",
        "pretty_body",
        "pretty_attempt_log",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The log is a record: rows are read-only; "change" only gates the redeliver action.
        return obj is None and super().has_change_permission(request)

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: WebhookDelivery) -> str:
        return format_html(
            '<span class="registry-badge registry-badge--delivery-{}">{}</span>',
            obj.status,
            obj.get_status_display(),
        )

    @admin.display(description=_("last error"))
    def short_error(self, obj: WebhookDelivery) -> str:
        return obj.last_error[:80] + ("…" if len(obj.last_error) > 80 else "")

    @admin.display(description=_("body"))
    def pretty_body(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(json.loads(obj.body()), indent=2))

    @admin.display(description=_("attempts log"))
    def pretty_attempt_log(self, obj: WebhookDelivery) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.attempt_log, indent=2))

    @admin.action(description=_("Redeliver the selected deliveries"), permissions=["change"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = webhook_delivery_redeliver(deliveries=queryset, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "%(n)d delivery queued again under its delivery id.",
                "%(n)d deliveries queued again under their delivery ids.",
                count,
            )
            % {"n": count},
            messages.SUCCESS,
        )
