"""Idempotency-Key for POST endpoints: a replay returns the first answer and writes nothing.

The key is claimed by inserting a row in the same transaction as the request's writes, so a
concurrent duplicate waits on the unique index and then replays; a request that fails and
rolls back leaves no claim behind, and the client may retry with the same key.

A record is replayed for the retention (REGISTRY_IDEMPOTENCY_HOURS, a day by default). After
that its key counts as new: the lookup ignores the record, and the new answer replaces it
(deleted in the new request's transaction, so a concurrent duplicate still waits and
replays). The webhook worker deletes expired records (`registry.outbox.worker.prune`).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from registry.models.idempotency import MAX_KEY_LENGTH, IdempotencyRecord

HEADER = "Idempotency-Key"
REPLAYED_HEADERS = ("ETag", "Location")


class IdempotencyKeyReused(APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used with a different request body."
    )


def request_owner(request: Request) -> str:
    """Keys are scoped to the caller: two integrations may pick the same key."""
    token = getattr(request, "auth", None)
    token_id = getattr(token, "pk", None)
    if token_id is not None:
        return f"token:{token_id}"
    return f"user:{request.user.pk}"


def request_fingerprint(request: Request) -> str:
    payload = json.dumps(
        {"path": request.path, "body": request.data}, sort_keys=True, default=str
    ).encode()
    return hashlib.sha256(payload).hexdigest()


def replay(record: IdempotencyRecord) -> Response:
    response = Response(record.response_body, status=record.status_code)
    for name, value in record.response_headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate a DRF view method (create, an @action) to honour the Idempotency-Key header."""

    @functools.wraps(view_method)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER)
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationError(
                {HEADER: [_("At most %(max)d characters.") % {"max": MAX_KEY_LENGTH}]}
            )
        owner = request_owner(request)
        fingerprint = request_fingerprint(request)
        now = timezone.now()
        records = IdempotencyRecord.objects.filter(owner=owner, key=key)
        existing = records.fresh(now).first()
        if existing is not None:
            if existing.request_hash != fingerprint:
                raise IdempotencyKeyReused()
            return replay(existing)
        with transaction.atomic():
            response = view_method(self, request, *args, **kwargs)
            if response.status_code >= 500:
                return response
            try:
                with transaction.atomic():
                    # An expired record of this key makes way for the new answer.
                    records.expired(now).delete()
                    IdempotencyRecord.objects.create(
                        owner=owner,
                        key=key,
                        method=request.method,
                        path=request.path[:500],
                        request_hash=fingerprint,
                        status_code=response.status_code,
                        response_body=json.loads(json.dumps(response.data, default=str)),
                        response_headers={
                            name: response[name] for name in REPLAYED_HEADERS if name in response
                        },
                    )
            except IntegrityError:
                # A concurrent request with the same key committed first: ours must not
                # write anything, so roll back and answer what the first one answered.
                transaction.set_rollback(True)
                winner = IdempotencyRecord.objects.get(owner=owner, key=key)
                if winner.request_hash != fingerprint:
                    raise IdempotencyKeyReused() from None
                return replay(winner)
        return response

    # Read by registry.api.core.schema to document the header and the 422 on this operation.
    wrapper.honours_idempotency_key = True  # type: ignore[attr-defined]
    return wrapper
