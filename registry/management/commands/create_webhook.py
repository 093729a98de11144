"""`manage.py create_webhook NAME URL [--events …] [--secret S] [--source S] [--ping]`.

The quickest way to point the registry at a receiver (the admin and the API do the same).
Prints the signing secret.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from registry.models import Department, Goal
from registry.services.webhooks import ALL_EVENT_TYPES, webhook_ping, webhook_subscription_create


class Command(BaseCommand):
    help = "Subscribe a receiver URL to registry events and print its signing secret."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Unique name of the subscription.")
        parser.add_argument("url", help="Receiver URL (http or https).")
        parser.add_argument(
            "--events",
            nargs="+",
            default=list(ALL_EVENT_TYPES),
            choices=ALL_EVENT_TYPES,
            metavar="EVENT",
            help=f"Events to receive (default: all): {', '.join(ALL_EVENT_TYPES)}.",
        )
        parser.add_argument("--secret", default="", help="Signing secret (default: generated).")
        parser.add_argument("--source", default="", help="Only initiatives of this source.")
        parser.add_argument("--department", default="", help="Only this department (slug).")
        parser.add_argument("--goal", default="", help="Only this goal (code).")
        parser.add_argument("--ping", action="store_true", help="Queue a ping right away.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            department = (
                Department.objects.get(slug=options["department"])
                if options["department"]
                else None
            )
            goal = Goal.objects.get(code=options["goal"]) if options["goal"] else None
        except (Department.DoesNotExist, Goal.DoesNotExist) as error:
            raise CommandError(str(error)) from None
        try:
            subscription = webhook_subscription_create(
                name=options["name"],
                url=options["url"],
                events=options["events"],
                secret=options["secret"],
                source=options["source"],
                department=department,
                goal=goal,
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        if options["ping"]:
            webhook_ping(subscription=subscription)
        self.stdout.write(subscription.secret)
