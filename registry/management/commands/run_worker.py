"""`manage.py run_worker [--once]`: the webhook worker (fan-out, delivery, heartbeat).

Run one or more beside the web processes; they share the work through row leases
(`SELECT … FOR UPDATE SKIP LOCKED`). SIGTERM or Ctrl-C lets the delivery in flight finish,
gives back the rest of the batch and exits.
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from registry.outbox.worker import Worker


class Command(BaseCommand):
    help = "Deliver webhooks: fan outbox events out to subscriptions and POST them, signed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Work until nothing is due, then exit (cron-style, or for a quick check).",
        )
        parser.add_argument("--poll", type=float, default=None, help="Seconds between idle polls.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker(poll_seconds=options["poll"])
        if options["once"]:
            done = worker.run_until_idle()
            self.stdout.write(f"{done} event(s) and attempt(s) processed.")
            return
        if settings.WORKER_METRICS_PORT:
            from prometheus_client import start_http_server

            from registry.metrics import WORKER_REGISTRY

            start_http_server(settings.WORKER_METRICS_PORT, registry=WORKER_REGISTRY)
        signal.signal(signal.SIGTERM, worker.stop)
        signal.signal(signal.SIGINT, worker.stop)
        worker.run()
