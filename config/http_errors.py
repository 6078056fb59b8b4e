"""HTTP errors for the API in its JSON error shape, where DRF's exception handler is not
reached: a URL that matches no route (``/api/deliveries/abc``), and query strings carrying
NUL characters, which PostgreSQL refuses in any text value (a 500 otherwise)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


class RejectNulQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and any(
            "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()
        ):
            return JsonResponse(
                {"errors": {"query": ["Query parameters must not contain NUL characters."]}}, status=400
            )
        return self.get_response(request)
