"""The page at ``/``: what Relay is, and a live inbox and preference center to try it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "realtime/index.html", {"demo": settings.RELAY_DEMO})
