"""The project's URLs plus the benchmark's baseline endpoints (bench settings only)."""

from django.urls import path

from bench import raw, raw_more
from portfolio.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/raw/initiatives/", raw.initiative_list, name="bench-raw-list"),
    path("bench/raw/initiatives/<str:key>/", raw.initiative_detail, name="bench-raw-detail"),
    path("bench/pg/initiatives/", raw.initiative_list_pg, name="bench-pg-list"),
    path("bench/pg/initiatives/<str:key>/", raw.initiative_detail_pg, name="bench-pg-detail"),
    path("bench/raw/reports/portfolio/", raw_more.report_portfolio),
    path("bench/raw/reports/alignment-matrix/", raw_more.report_alignment_matrix),
    path("bench/raw/sync/", raw_more.sync_batch),
    path("bench/module/sync/", raw_more.sync_batch_module),
    *project_urlpatterns,
]
