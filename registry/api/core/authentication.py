"""`Authorization: Token <secret>` for tools, checked against the hashed ApiToken rows."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from registry.permissions import Actor
from registry.services.history import history_context
from registry.services.tokens import ApiToken, api_token_authenticate


class ApiTokenAuthentication(authentication.TokenAuthentication):
    """DRF's token scheme over the registry's own hashed, named, expiring tokens.

    Listed first in DEFAULT_AUTHENTICATION_CLASSES so an anonymous request is answered 401
    with `WWW-Authenticate: Token` rather than 403.
    """

    keyword = "Token"
    model = ApiToken

    def authenticate_credentials(self, key: str) -> tuple[Any, ApiToken]:
        token = api_token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid, expired or revoked token."))
        # Writes of this request are recorded in history under the token's name.
        history_context(channel="api", actor=token.name, token=token.name)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


def request_token(request: Request) -> ApiToken | None:
    """The ApiToken a request authenticated with, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None


def request_actor(request: Any) -> Actor:
    """The actor of an API request, for the services: its user and the token it used."""
    return Actor(user=getattr(request, "user", None), token=request_token(request))
