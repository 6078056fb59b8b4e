"""``POST /api/workflows/<eventType>/dry-run`` and the admin's "Test" page of a workflow: the
plan of the workflow for one event body and one subscriber, with nothing sent or stored.

Here, above the pipeline, because a plan decides each send with route's own rules
(``pipeline.dry_run``), which the workflows app may not import.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.models import Event, Notification, Subscriber
from notifications.serializers import EventBodyField, EventSerializer, StrictSerializer
from pipeline.dry_run import plan
from workflows import selectors
from workflows.models import Workflow, WorkflowVersion


class DryRunSerializer(StrictSerializer):
    event = EventBodyField(
        help_text="An event body as POST /api/events takes it; eventId, eventType, userId and "
        "channels may be left out."
    )
    userId = serializers.CharField(max_length=128)


class PlannedStepSerializer(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    would = serializers.ChoiceField(
        choices=["send", "skip", "wait", "continue"],
        help_text="continue: a step that neither sends nor waits lets the run go on.",
    )
    reason = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(required=False)
    decision = serializers.CharField(required=False)
    content = serializers.DictField(required=False)
    until = serializers.DateTimeField(required=False)
    values = serializers.DictField(required=False)


class DryRunResultSerializer(serializers.Serializer):
    steps = PlannedStepSerializer(many=True)


def unsaved_notification(key: str, body: Any, user_id: str) -> Notification:
    """The event body checked as the events API checks it, as an unsaved notification.

    ``eventType`` is the workflow's, ``userId`` the one given; ``eventId`` may be left out
    (and ``channels``, as for any event of a type with a workflow). Raises ``ValidationError``
    (400, fields under ``event``) or ``NotFound``.
    """
    if not isinstance(body, dict):
        raise ValidationError({"event": ["Give an event body (a JSON object)."]})
    filled = {"eventId": "dry-run", **body, "eventType": key, "userId": user_id}
    filled.pop("topic", None)
    checker = EventSerializer(data=filled)
    if not checker.is_valid():
        raise ValidationError({"event": checker.errors})
    data = checker.validated_data
    subscriber = Subscriber.objects.filter(user_id=user_id).first()
    if subscriber is None:
        raise NotFound("No subscriber with this userId.")
    event = Event(
        event_id=data["eventId"],
        event_type=key,
        user_id=user_id,
        channels=data["channels"],
        priority=data["priority"],
        data=data["data"],
        metadata=data["metadata"],
        locale=data.get("locale", ""),
        scheduled_at=data.get("scheduledAt"),
        expires_at=data.get("expiresAt"),
        cancellation_key=data.get("cancellationKey", ""),
        accepted_at=timezone.now(),
    )
    return Notification(event=event, subscriber=subscriber)


def _current(key: str) -> WorkflowVersion:
    version = selectors.current_versions([key]).get(key)
    if version is None:
        raise NotFound("No workflow for this event type.")
    return version


class DryRunView(APIView):
    """What the workflow would do with this event for this subscriber; nothing sent or stored."""

    required_scopes = {"POST": "read"}

    @extend_schema(request=DryRunSerializer, responses={200: DryRunResultSerializer})
    def post(self, request: Request, key: str) -> Response:
        version = _current(key)
        body = DryRunSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        notification = unsaved_notification(key, body.validated_data["event"], body.validated_data["userId"])
        return Response({"steps": plan(version, notification)})


def _test_page(request: HttpRequest, object_id: str) -> HttpResponse:
    workflow = get_object_or_404(Workflow, pk=object_id)
    if workflow.current is None:
        raise Http404("This workflow is unpublished.")
    event_text = request.POST.get("event", '{"data": {}}')
    user_id = request.POST.get("userId", "")
    context: dict[str, Any] = {
        **admin.site.each_context(request),
        "title": f"Test {workflow.key} v{workflow.current.version}",
        "workflow": workflow,
        "event_text": event_text,
        "user_id": user_id,
    }
    if request.method == "POST":
        try:
            notification = unsaved_notification(workflow.key, json.loads(event_text), user_id)
            context["steps"] = plan(workflow.current, notification)
        except json.JSONDecodeError as error:
            context["error"] = f"event: not JSON ({error})."
        except (ValidationError, NotFound) as error:
            context["error"] = json.dumps(error.detail)
    return render(request, "ops/workflow_test.html", context)


workflow_test_view = admin.site.admin_view(_test_page)
