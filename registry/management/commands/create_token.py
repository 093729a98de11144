"""`manage.py create_token NAME --user USER [--source S] [--expires-days N]`.

Prints the secret once; the database keeps only its hash.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from registry.services.history import history_context
from registry.services.tokens import api_token_create


class Command(BaseCommand):
    help = (
        "Create a named API token for a user and print its secret (shown only this once; "
        "the database keeps a hash)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Unique name; history shows it as the actor.")
        parser.add_argument("--user", required=True, help="Username whose roles it carries.")
        parser.add_argument(
            "--source", default="", help="Sync source an integration token may write."
        )
        parser.add_argument(
            "--can-create-tags",
            action="store_true",
            help="Sync and import with this token may create the tags they name.",
        )
        parser.add_argument(
            "--expires-days", type=int, default=None, help="Days until it expires (none: never)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get_by_natural_key(options["user"])
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user '{options['user']}'.") from None
        days = options["expires_days"]
        if days is not None and days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + datetime.timedelta(days=days) if days else None
        try:
            with history_context(channel="command", actor=user.get_username()):
                _token, secret = api_token_create(
                    name=options["name"],
                    user=user,
                    source=options["source"],
                    can_create_tags=options["can_create_tags"],
                    expires_at=expires_at,
                )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(secret)
