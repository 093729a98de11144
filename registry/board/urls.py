"""The PMO's and the board's pages, mounted at /admin/registry/board/: the portfolio
dashboard, the customer journey page and the quarterly review (go through, decide, close,
compare, print, export).
"""

from django.urls import path

from registry.board import reviews as review_views
from registry.board.dashboard import dashboard
from registry.board.journey import journey_page
from registry.board.reviews import writer_view
from registry.board.scope import reader_view

app_name = "registry_board"

urlpatterns = [
    path("", reader_view(dashboard), name="dashboard"),
    path("journey/", reader_view(journey_page), name="journey"),
    path("reviews/open/", writer_view(review_views.review_open_view), name="review-open"),
    path("reviews/<int:pk>/", reader_view(review_views.review_page), name="review"),
    path(
        "reviews/<int:pk>/decide/",
        writer_view(review_views.review_decide_view),
        name="review-decide",
    ),
    path(
        "reviews/<int:pk>/close/", writer_view(review_views.review_close_view), name="review-close"
    ),
    path(
        "reviews/<int:pk>/compare/",
        reader_view(review_views.review_compare_view),
        name="review-compare",
    ),
    path(
        "reviews/<int:pk>/summary/",
        reader_view(review_views.review_summary),
        name="review-summary",
    ),
    path(
        "reviews/<int:pk>/export.csv",
        reader_view(review_views.review_export_csv),
        name="review-export-csv",
    ),
    path(
        "reviews/<int:pk>/export.xlsx",
        reader_view(review_views.review_export_xlsx),
        name="review-export-xlsx",
    ),
]
