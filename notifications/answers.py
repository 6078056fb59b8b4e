"""What the API answers for an accepted, duplicate or conflicting event: the one place that
shapes it, for the DRF views and for the fast path of ``POST /api/events`` alike."""

from __future__ import annotations

from typing import Any

from notifications.services import Acceptance


def conflict_detail(result: Acceptance) -> dict[str, Any]:
    return {
        "eventId": result.event_id,
        "detail": "eventId was already used with a different body.",
        "existingFingerprint": result.existing_fingerprint,
        "requestFingerprint": result.fingerprint,
    }


def single_event_answer(result: Acceptance) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) for one event that JetStream stored, or already had, or refused
    as a conflict. An ``unavailable`` outcome is a 503, answered by the caller."""
    if result.outcome == "conflict":
        return 409, conflict_detail(result)
    body: dict[str, Any] = {"eventId": result.event_id, "status": "accepted"}
    if result.outcome == "duplicate":
        body["duplicate"] = True
        return 200, body
    return 202, body
