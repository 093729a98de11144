"""Roles as Django groups: PMO, contributor, viewer, integration.

The groups and their permissions are synced after every migrate by registry.roles; this
migration only marks where they entered the schema's history.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = []
