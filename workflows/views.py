"""GET /api/workflows and GET/PUT/DELETE /api/workflows/<eventType> (API key: ``read`` to read,
``workflows:write`` to publish or delete); POST /api/workflows/cancel (``events:write``)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workflows import selectors, services
from workflows.definitions import DefinitionError
from workflows.runs import cancel_runs
from workflows.serializers import (
    CancelledSerializer,
    CancelSerializer,
    WorkflowBodySerializer,
    WorkflowListSerializer,
    WorkflowSerializer,
)

NOT_FOUND = "No workflow for this event type."


class WorkflowListView(APIView):
    """Every published workflow, by key."""

    @extend_schema(operation_id="workflows_list", responses={200: WorkflowListSerializer})
    def get(self, request: Request) -> Response:
        return Response({"workflows": WorkflowSerializer(selectors.published_workflows(), many=True).data})


class WorkflowView(APIView):
    """One event type's workflow: read it, publish a new version, or delete it."""

    required_scopes = {"PUT": "workflows:write", "DELETE": "workflows:write"}

    @extend_schema(responses={200: WorkflowSerializer})
    def get(self, request: Request, key: str) -> Response:
        workflow = selectors.published_workflow(key)
        if workflow is None:
            raise NotFound(NOT_FOUND)
        return Response(WorkflowSerializer(workflow).data)

    @extend_schema(
        request=WorkflowBodySerializer, responses={200: WorkflowSerializer, 201: WorkflowSerializer}
    )
    def put(self, request: Request, key: str) -> Response:
        try:
            version, created = services.publish(key, request.data)
        except DefinitionError as error:
            raise ValidationError(error.errors) from None
        return Response(
            WorkflowSerializer(version.workflow).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={204: None})
    def delete(self, request: Request, key: str) -> Response:
        if not services.delete(key):
            raise NotFound(NOT_FOUND)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CancelView(APIView):
    """Cancel the runs still going (running or waiting) of events sent with a ``cancellationKey``.

    Once this answers, nothing more is sent for them: their steps do not run again and their
    deliveries not sent yet end ``suppressed``, ``cancelled``.
    """

    required_scopes = {"POST": "events:write"}

    @extend_schema(request=CancelSerializer, responses={200: CancelledSerializer})
    def post(self, request: Request) -> Response:
        body = CancelSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cancelled = cancel_runs(body.validated_data["cancellationKey"], body.validated_data.get("userId"))
        return Response({"cancelled": cancelled})
