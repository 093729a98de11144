"""Tags become labels: the old slug-only `name` is the `slug`, and a free-text `name` is added
(filled from the slug for existing tags). API tokens may be allowed to create tags."""

from django.db import migrations, models


def names_from_slugs(apps, schema_editor):
    Tag = apps.get_model("registry", "Tag")
    Tag.objects.filter(name="").update(name=models.F("slug"))


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0013_exact_count_indexes"),
    ]

    operations = [
        migrations.RenameField(model_name="tag", old_name="name", new_name="slug"),
        migrations.AddField(
            model_name="tag",
            name="name",
            field=models.CharField(default="", max_length=100, verbose_name="name"),
            preserve_default=False,
        ),
        migrations.RunPython(names_from_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tag",
            name="slug",
            field=models.SlugField(max_length=60, unique=True, verbose_name="slug"),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug", ""), _negated=True)
                & models.Q(("name", ""), _negated=True),
                name="registry_tag_named",
                violation_error_message="A tag needs a name.",
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="can_create_tags",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Sync and import with this token create the tags they name that do not "
                    "exist yet; without it, an unknown tag refuses the item."
                ),
                verbose_name="may create tags",
            ),
        ),
    ]
