"""OpenAPI post-processing: the error answers every operation can give, in the schema.

Views document their success bodies; the failures (bad input, auth, throttling, body
limits, NATS unavailable) come from shared policy classes, so they are added here once, in
the two shapes the API uses: ``{"errors": {field: [...]}}`` for invalid input and
``{"detail": "..."}`` for everything else.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "errors": {"type": "object", "description": "Messages by field name."},
        "detail": {"type": "string"},
    },
}
ERROR_RESPONSES = {
    "400": "Invalid input: malformed JSON, wrong types, unknown or missing fields.",
    "401": "Missing or invalid credentials.",
    "403": "The credentials lack the scope this operation needs.",
    "404": "No such resource.",
    "405": "Method not allowed.",
    "409": "Conflicts with existing state.",
    "413": "Request body too large.",
    "415": "Unsupported media type.",
    "429": "Rate limited; see Retry-After.",
    "503": "A dependency is unavailable; see Retry-After.",
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in ERROR_RESPONSES.items():
                answer: dict[str, Any] = {"description": description, "content": reference}
                if code in ("429", "503"):
                    answer["headers"] = RETRY_AFTER
                responses.setdefault(code, answer)
    return result
