"""`/api/v1/webhooks/`: event subscriptions and their delivery log, for the PMO.

Subscriptions hold signing secrets, so every verb is PMO-only. The secret is write-only: it
is shown once in the answer to the create (generated when none was given) and by
`rotate-secret`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from registry import permissions as rules
from registry.api.core.authentication import request_actor
from registry.api.core.relations import department_field, goal_field
from registry.models.webhooks import MIN_SECRET_LENGTH
from registry.services.webhooks import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookSubscription,
    webhook_delivery_redeliver,
    webhook_ping,
    webhook_subscription_create,
    webhook_subscription_rotate_secret,
    webhook_subscription_update,
)


class PMOOnly(BasePermission):
    """Webhook subscriptions carry secrets: only the PMO reads or changes them."""

    message = _("Only the PMO manages webhook subscriptions.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return rules.is_pmo(request.user)


def _as_drf_error(error: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(serializers.as_serializer_error(error))


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices),
        allow_empty=False,
        help_text=_("Events to receive."),
    )
    department = department_field(required=False, allow_null=True)
    goal = goal_field(required=False, allow_null=True)
    secret = serializers.CharField(
        write_only=True,
        required=False,
        min_length=MIN_SECRET_LENGTH,
        max_length=200,
        trim_whitespace=False,
        help_text=_("Signing secret; generated when omitted. Shown once, in the create answer."),
    )
    pending_deliveries = serializers.IntegerField(read_only=True)
    failed_deliveries = serializers.IntegerField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = [
            "id",
            "name",
            "url",
            "events",
            "source",
            "department",
            "goal",
            "is_active",
            "secret",
            "pending_deliveries",
            "failed_deliveries",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def create(self, validated_data: dict[str, Any]) -> WebhookSubscription:
        request = self.context.get("request")
        try:
            subscription = webhook_subscription_create(
                actor=request_actor(request), **validated_data
            )
        except DjangoValidationError as error:
            raise _as_drf_error(error) from None
        return subscription

    def update(
        self, instance: WebhookSubscription, validated_data: dict[str, Any]
    ) -> WebhookSubscription:
        try:
            return webhook_subscription_update(
                subscription=instance,
                actor=request_actor(self.context.get("request")),
                **validated_data,
            )
        except DjangoValidationError as error:
            raise _as_drf_error(error) from None

    def to_representation(self, instance: WebhookSubscription) -> dict[str, Any]:
        data = super().to_representation(instance)
        if getattr(instance, "_reveal_secret", False):
            data["secret"] = instance.secret
        return data


class WebhookDeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_type", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "event_id",
            "ordering_key",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "delivered_at",
            "created_at",
            "attempt_log",
        ]
        read_only_fields = fields


class RedeliverSerializer(serializers.Serializer):
    deliveries = serializers.ListField(
        child=serializers.UUIDField(), allow_empty=False, max_length=500
    )


class WebhookSubscriptionViewSet(viewsets.ModelViewSet):
    """Webhook subscriptions (PMO). Deliveries, redelivery, ping and secret rotation as verbs."""

    queryset = (
        WebhookSubscription.objects.select_related("department", "goal")
        .annotate(
            pending_deliveries=Count(
                "deliveries", filter=Q(deliveries__status=DeliveryStatus.PENDING)
            ),
            failed_deliveries=Count(
                "deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)
            ),
        )
        .order_by("name")
    )
    serializer_class = WebhookSubscriptionSerializer
    permission_classes = [PMOOnly]
    filterset_fields = ["is_active"]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "deliveries":
            return WebhookDeliverySerializer
        if self.action == "redeliver":
            return RedeliverSerializer
        return super().get_serializer_class()

    def perform_create(self, serializer: serializers.BaseSerializer) -> None:
        created = serializer.save()
        serializer.instance = self.get_queryset().get(pk=created.pk)
        # The one answer that shows the secret (besides rotate-secret).
        serializer.instance._reveal_secret = True

    def perform_update(self, serializer: serializers.BaseSerializer) -> None:
        updated = serializer.save()
        serializer.instance = self.get_queryset().get(pk=updated.pk)

    def delivery_queryset(self, subscription: WebhookSubscription) -> QuerySet:
        deliveries = subscription.deliveries.order_by("-created_at", "-event_id")
        wanted = self.request.query_params.getlist("status")
        unknown = set(wanted) - set(DeliveryStatus.values)
        if unknown:
            raise serializers.ValidationError(
                {"status": [_("Unknown status: %(s)s.") % {"s": ", ".join(sorted(unknown))}]}
            )
        return deliveries.filter(status__in=wanted) if wanted else deliveries

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=DeliveryStatus.values,
                many=True,
                description=_("Only deliveries in these states (repeatable)."),
            )
        ],
        responses=WebhookDeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        """The delivery log of this subscription, newest first; `?status=` filters."""
        page = self.paginate_queryset(self.delivery_queryset(self.get_object()))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        responses={
            202: inline_serializer("RedeliverAnswer", {"redelivered": serializers.IntegerField()})
        }
    )
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str | None = None) -> Response:
        """Send deliveries of this subscription again, now, under their delivery ids."""
        subscription = self.get_object()
        serializer = RedeliverSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wanted = set(serializer.validated_data["deliveries"])
        found = subscription.deliveries.filter(pk__in=wanted)
        missing = wanted - set(found.values_list("pk", flat=True))
        if missing:
            raise serializers.ValidationError(
                {
                    "deliveries": [
                        _("Not deliveries of this subscription: %(ids)s.")
                        % {"ids": ", ".join(sorted(str(m) for m in missing))}
                    ]
                }
            )
        count = webhook_delivery_redeliver(deliveries=found, actor=request_actor(request))
        return Response({"redelivered": count}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: inline_serializer("PingAnswer", {"event_id": serializers.IntegerField()})},
    )
    @action(detail=True, methods=["post"])
    def ping(self, request: Request, pk: str | None = None) -> Response:
        """Queue a `ping` event for this subscription only."""
        event = webhook_ping(subscription=self.get_object(), actor=request_actor(request))
        return Response({"event_id": event.pk}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: inline_serializer("SecretAnswer", {"secret": serializers.CharField()})},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        """Replace the signing secret; the answer shows the new one, once."""
        secret = webhook_subscription_rotate_secret(
            subscription=self.get_object(), actor=request_actor(request)
        )
        return Response({"secret": secret})
