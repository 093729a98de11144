"""Bench only: tell the load generator how many SQL statements a request ran."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from django.db import connections
from django.http import HttpRequest, HttpResponse


class QueryCountHeaderMiddleware:
    """`X-Bench-Queries`: statements run through Django's connections (plus, for the raw
    baselines, those the view counted on the raw cursor itself).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        count = 0

        def counter(execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with contextlib.ExitStack() as stack:
            for conn in connections.all():
                stack.enter_context(conn.execute_wrapper(counter))
            response = self.get_response(request)
        raw = int(response.get("X-Bench-Queries", 0) or 0)
        response["X-Bench-Queries"] = str(count + raw)
        return response
