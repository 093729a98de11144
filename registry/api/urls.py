"""Routes of the v1 API: plural kebab-case prefixes, one router."""

from django.urls import path
from rest_framework.routers import APIRootView, DefaultRouter

from registry.api import export_views, sync_views, views
from registry.api.core.permissions import ReadOnly
from registry.api.report_views import ReportViewSet
from registry.api.review_views import ReviewViewSet
from registry.api.saved_views_api import SavedViewViewSet
from registry.api.webhooks import WebhookSubscriptionViewSet

app_name = "api"


class RootView(APIRootView):
    """The index of the v1 resources."""

    permission_classes = [ReadOnly]


router = DefaultRouter()
router.APIRootView = RootView
router.register("visions", views.VisionViewSet, basename="vision")
router.register("goals", views.GoalViewSet, basename="goal")
router.register("measurements", views.MeasurementViewSet, basename="measurement")
router.register("departments", views.DepartmentViewSet, basename="department")
router.register("people", views.PersonViewSet, basename="person")
router.register("systems", views.SystemViewSet, basename="system")
router.register("tags", views.TagViewSet, basename="tag")
router.register("initiatives", views.InitiativeViewSet, basename="initiative")
router.register("alignments", views.AlignmentViewSet, basename="alignment")
router.register("team-roles", views.TeamRoleViewSet, basename="teamrole")
router.register("dependencies", views.DependencyViewSet, basename="dependency")
router.register("notes", views.NoteViewSet, basename="note")
router.register("stage-changes", views.StageChangeViewSet, basename="stagechange")
router.register("reviews", ReviewViewSet, basename="review")
router.register("review-decisions", views.ReviewDecisionViewSet, basename="reviewdecision")
router.register("changes", views.ChangeViewSet, basename="change")
router.register("reports", ReportViewSet, basename="report")
router.register("saved-views", SavedViewViewSet, basename="savedview")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")

# Before the router, whose initiative detail route would take "sync" for a key. `path`
# lets an external id carry slashes.
urlpatterns = [
    path(
        "initiatives/sync/",
        sync_views.InitiativeSyncBatchView.as_view(),
        name="initiative-sync-batch",
    ),
    path(
        "initiatives/sync/<str:source>/<path:external_id>/",
        sync_views.InitiativeSyncView.as_view(),
        name="initiative-sync",
    ),
    path(
        "initiatives/export/",
        export_views.InitiativeExportViewSet.as_view({"get": "list"}),
        name="initiative-export",
    ),
    *router.urls,
]
