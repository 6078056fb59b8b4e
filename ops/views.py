"""Health, liveness, Prometheus metrics (no API key) and the staff dashboard."""

from __future__ import annotations

import hmac
import time
from typing import Any

from asgiref.sync import async_to_sync
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ops.dashboard import dashboard_data
from ops.exposition import consumer_lag_metrics, process_metrics
from ops.health import health_report
from ops.serializers import HealthSerializer, LivenessSerializer


class HealthView(APIView):
    """Database, Redis and NATS checked concurrently; 503 when any configured one is down."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(responses={200: HealthSerializer, 503: HealthSerializer})
    def get(self, request: Request) -> Response:
        report = async_to_sync(health_report)()
        if report["status"] == "ok":
            return Response(report)
        return Response(report, status=503, headers={"Retry-After": str(settings.RELAY_RETRY_AFTER_SECONDS)})


class LivenessView(APIView):
    """The process answers HTTP; nothing external is checked (for restart decisions)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []

    @extend_schema(responses={200: LivenessSerializer})
    def get(self, request: Request) -> Response:
        return Response(
            {"status": "ok", "uptime": round(time.time() - apps.get_app_config("ops").started_at, 1)}
        )


def _metrics_token_ok(request: HttpRequest) -> bool:
    token = str(settings.METRICS_TOKEN)
    if not token:
        return True
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format: this process's metrics and JetStream consumer lag."""
    if not _metrics_token_ok(request):
        return JsonResponse(
            {"detail": "Send Authorization: Bearer <METRICS_TOKEN>."},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    body = process_metrics() + async_to_sync(consumer_lag_metrics)()
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _dashboard(request: HttpRequest) -> HttpResponse:
    hours = 24 if request.GET.get("range") != "7d" else 24 * 7
    context = {
        **admin.site.each_context(request),
        "title": "Delivery dashboard",
        "range": "7d" if hours > 24 else "24h",
        "data": dashboard_data(hours),
    }
    return render(request, "ops/dashboard.html", context)


dashboard_view = admin.site.admin_view(_dashboard)
