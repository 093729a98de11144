"""Roles as Django groups: PMO, contributor, viewer, integration."""

from django.db import migrations

REGISTRY_MODELS = (
    "vision", "goal", "measurement", "department", "person", "system", "tag", "initiative",
    "alignment", "dependency", "teamrole", "note", "stagechange", "review", "reviewdecision",
)
# What each role may do in the admin; the API applies object-level rules on top.
ROLE_PERMISSIONS = {
    "PMO": {model: ("view", "add", "change", "delete") for model in REGISTRY_MODELS},
    "contributor": {
        **{model: ("view",) for model in REGISTRY_MODELS},
        "initiative": ("view", "change"),
        "alignment": ("view", "add", "change", "delete"),
        "teamrole": ("view", "add", "change", "delete"),
        "dependency": ("view", "add", "change", "delete"),
        "note": ("view", "add", "change"),
    },
    "viewer": {model: ("view",) for model in REGISTRY_MODELS},
    "integration": {},
}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, grants in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        codenames = [f"{action}_{model}" for model, actions in grants.items() for action in actions]
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="registry", codename__in=codenames)
        )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
