"""Routes of the v1 API: plural kebab-case prefixes, one router."""

from django.urls import path
from rest_framework.routers import APIRootView, DefaultRouter

from registry.api.changes import ChangeViewSet
from registry.api.core.permissions import ReadOnly
from registry.api.imports import ImportView
from registry.api.initiatives.exports import InitiativeExportViewSet
from registry.api.initiatives.views import InitiativeViewSet
from registry.api.learning import LearningViewSet, VoiceReviewViewSet
from registry.api.organisation import DepartmentViewSet, PersonViewSet, SystemViewSet, TagViewSet
from registry.api.parts import (
    AlignmentViewSet,
    DependencyViewSet,
    NoteViewSet,
    StageChangeViewSet,
    TeamRoleViewSet,
)
from registry.api.reports import ReportViewSet
from registry.api.reviews import ReviewDecisionViewSet, ReviewViewSet
from registry.api.saved_views import SavedViewViewSet
from registry.api.strategy import (
    GoalViewSet,
    MeasurementViewSet,
    ProactiveStanceViewSet,
    VisionViewSet,
)
from registry.api.sync import InitiativeSyncBatchView, InitiativeSyncView
from registry.api.webhooks import WebhookSubscriptionViewSet

app_name = "api"


class RootView(APIRootView):
    """The index of the v1 resources."""

    permission_classes = [ReadOnly]


router = DefaultRouter()
router.APIRootView = RootView
router.register("visions", VisionViewSet, basename="vision")
router.register("goals", GoalViewSet, basename="goal")
router.register("measurements", MeasurementViewSet, basename="measurement")
router.register("proactive-stances", ProactiveStanceViewSet, basename="proactivestance")
router.register("departments", DepartmentViewSet, basename="department")
router.register("people", PersonViewSet, basename="person")
router.register("systems", SystemViewSet, basename="system")
router.register("tags", TagViewSet, basename="tag")
router.register("initiatives", InitiativeViewSet, basename="initiative")
router.register("alignments", AlignmentViewSet, basename="alignment")
router.register("team-roles", TeamRoleViewSet, basename="teamrole")
router.register("dependencies", DependencyViewSet, basename="dependency")
router.register("notes", NoteViewSet, basename="note")
router.register("stage-changes", StageChangeViewSet, basename="stagechange")
router.register("reviews", ReviewViewSet, basename="review")
router.register("review-decisions", ReviewDecisionViewSet, basename="reviewdecision")
router.register("changes", ChangeViewSet, basename="change")
router.register("reports", ReportViewSet, basename="report")
router.register("saved-views", SavedViewViewSet, basename="savedview")
router.register("webhooks", WebhookSubscriptionViewSet, basename="webhook")
router.register("learnings", LearningViewSet, basename="learning")

# Before the router, whose initiative detail route would take "sync" for a key. `path`
# lets an external id carry slashes.
urlpatterns = [
    path(
        "initiatives/sync/",
        InitiativeSyncBatchView.as_view(),
        name="initiative-sync-batch",
    ),
    path(
        "initiatives/sync/<str:source>/<path:external_id>/",
        InitiativeSyncView.as_view(),
        name="initiative-sync",
    ),
    path("imports/", ImportView.as_view(), name="import"),
    path(
        "initiatives/export/",
        InitiativeExportViewSet.as_view({"get": "list"}),
        name="initiative-export",
    ),
    path(
        "initiatives/<str:key>/voice-reviews/",
        VoiceReviewViewSet.as_view({"get": "list", "post": "create"}),
        name="initiative-voice-reviews",
    ),
    *router.urls,
]
