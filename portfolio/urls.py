"""URLs: the admin, the REST API v1, its OpenAPI schema and interactive docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from registry.middleware import observability

# 503 + Retry-After when the database is unreachable; JSON for the API; never a traceback.
handler500 = "registry.middleware.resilience.server_error"
handler404 = "registry.middleware.resilience.page_not_found"

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", observability.healthz, name="healthz"),
    path("readyz", observability.readyz, name="readyz"),
    path("metrics", observability.metrics, name="metrics"),
    path("admin/registry/import/", include("registry.board.import_urls")),
    path("admin/registry/board/", include("registry.board.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("registry.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
