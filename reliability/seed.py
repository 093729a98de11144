"""Seed a scratch registry for a reliability run: the demo portfolio, one login per role and
an API token for each, printed as JSON (`{"pmo": "<secret>", …}`).

Run as `python -m reliability.seed` with DATABASE_URL pointing at a scratch database.
"""

from __future__ import annotations

import json
import os
from typing import Any

ROLE_USERS = {
    # role: (username, group)
    "pmo": ("pmo", "PMO"),
    "contributor": ("contributor", "contributor"),
    "viewer": ("viewer", "viewer"),
    "integration": ("jira-sync", "integration"),
}
INTEGRATION_SOURCE = "jira"


def seed_roles() -> dict[str, str]:
    """Demo portfolio and logins (if missing), an integration account, and fresh tokens."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from registry.demo import ensure_demo_logins, load_demo_portfolio
    from registry.models import Vision
    from registry.services.tokens import api_token_create

    if not Vision.objects.exists():
        load_demo_portfolio()
    ensure_demo_logins()
    users: dict[str, Any] = {}
    for role, (username, group) in ROLE_USERS.items():
        user, _created = get_user_model().objects.get_or_create(username=username)
        user.groups.add(Group.objects.get(name=group))
        users[role] = user
    secrets: dict[str, str] = {}
    for role, user in users.items():
        source = INTEGRATION_SOURCE if role == "integration" else ""
        _token, secret = api_token_create(
            name=f"reliability-{role}-{os.getpid()}", user=user, source=source
        )
        secrets[role] = secret
    return secrets


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portfolio.settings")
    django.setup()
    print(json.dumps(seed_roles()))


if __name__ == "__main__":
    main()
