"""The base of every v1 viewset: declare querysets, serializers, filters and permissions,
and hand every write with a rule to a service.

Writes lock the row they change (`SELECT … FOR UPDATE`) before reading it, so the If-Match
comparison, the permission check and the write all see the same version.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Model, QuerySet
from rest_framework import viewsets
from rest_framework.permissions import SAFE_METHODS
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from registry.api.core.authentication import request_token
from registry.api.core.concurrency import check_if_match, etag_for
from registry.api.core.idempotency import idempotent
from registry.api.core.permissions import (
    PMOWrites,
)
from registry.services.history import actor_label


def actor_name(request: Request) -> str:
    """Who acts, as history and StageChange name them: the token's name or the username."""
    token = request_token(request)
    return token.name if token is not None else actor_label(request.user)


def acting_user(request: Request) -> Any:
    return request.user if getattr(request.user, "is_authenticated", False) else None


def bound(serializer: BaseSerializer) -> Any:
    """The object an update's (or a saved) serializer is bound to."""
    assert serializer.instance is not None
    return serializer.instance


class RegistryViewSet(viewsets.ModelViewSet):
    """Shared plumbing of every resource.

    - Filters apply to lists only (a detail URL addresses one object, archived or not).
    - Writes run in one transaction, lock their row first and — where `versioned` — check
      If-Match against the locked version, bump it and answer with the new ETag.
    - The answer to a write is re-read through `get_queryset()`, so it carries the same
      annotations (derived values) as a read.
    """

    versioned = False
    etag_actions = frozenset({"retrieve", "create", "update", "partial_update"})
    if_match_actions = frozenset({"update", "partial_update", "destroy"})
    permission_classes = [PMOWrites]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    def get_object(self) -> Any:
        if self.request.method in SAFE_METHODS:
            return super().get_object()
        # Writes run in a transaction; OPTIONS metadata probes with a cloned PUT outside any
        # transaction, where a row lock is neither possible nor needed.
        if transaction.get_connection().in_atomic_block:
            self.lock_row()
        obj = super().get_object()
        if self.versioned:
            check_if_match(self.request, obj.version)
        return obj

    def lock_row(self) -> None:
        """Take the row lock before the row is read, for the rest of the transaction."""
        lookup_url_kwarg = self.lookup_url_kwarg or self.lookup_field
        model = self.get_queryset().model
        try:
            rows = model._default_manager.select_for_update().filter(
                **{self.lookup_field: self.kwargs[lookup_url_kwarg]}
            )
            list(rows.values_list("pk", flat=True))
        except (TypeError, ValueError):
            return  # not a valid id ("null" for an integer pk): get_object answers 404

    def refetch(self, instance: Model) -> Model:
        return self.get_queryset().get(pk=instance.pk)

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().create(request, *args, **kwargs)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with transaction.atomic():
            return super().destroy(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = self.refetch(serializer.save())

    def perform_update(self, serializer: BaseSerializer) -> None:
        extra = {"version": bound(serializer).version + 1} if self.versioned else {}
        serializer.instance = self.refetch(serializer.save(**extra))

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        renderer = getattr(request, "accepted_renderer", None)
        if response.status_code >= 400 and getattr(renderer, "format", None) == "csv":
            # Errors keep the one JSON error shape, even when CSV was asked for.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        data = getattr(response, "data", None)
        if (
            self.versioned
            and self.action in self.etag_actions
            and 200 <= response.status_code < 300
            and isinstance(data, dict)
            and "version" in data
        ):
            response["ETag"] = etag_for(data["version"])
        return response
