"""URLs: the admin and the API."""

from django.contrib import admin
from django.urls import include, path

from registry import observability

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("admin/registry/import/", include("registry.import_urls")),
    path("admin/", admin.site.urls),
]
