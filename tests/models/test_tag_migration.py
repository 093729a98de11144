"""Migration 0014: tags that were slugs only keep working — the old value becomes the slug
and the new name — and every API token starts without the right to create tags."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("registry", "0013_exact_count_indexes")]
AFTER = [("registry", "0014_tag_labels_token_tags")]


@pytest.mark.django_db(transaction=True)
def test_slug_only_tags_get_their_slug_as_name():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    old_apps.get_model("registry", "Tag").objects.create(name="quick-win")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new_apps = executor.loader.project_state(AFTER).apps
    tag = new_apps.get_model("registry", "Tag").objects.get()

    assert (tag.slug, tag.name) == ("quick-win", "quick-win")
    # Back to the latest state for the tests that follow.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
