from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("AI-CX portfolio")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The outbox's triggers belong to the schema the migrations install.
        import registry.outbox.triggers  # noqa: F401
        from registry.i18n.third_party import label_third_party_admin
        from registry.roles import sync_role_groups

        label_third_party_admin()

        # Runs after auth's own receiver has created the permissions of every model.
        post_migrate.connect(
            sync_role_groups, sender=self, dispatch_uid="registry.sync_role_groups"
        )
