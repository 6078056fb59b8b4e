"""Provider callbacks. Twilio's status callback: signed with the account's auth token.

The signature covers the full public URL Twilio posted to, so it is checked against
``RELAY_PUBLIC_URL`` + path (what Relay told Twilio), not the Host header behind a proxy.
"""

from __future__ import annotations

import structlog
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from deliveries.models import DeliveryStatus
from deliveries.provider_status import StatusReport, apply_status_report
from deliveries.reasons import Reason

log = structlog.get_logger(__name__)

# Twilio MessageStatus values that are final answers; queued/sending/sent say nothing new.
TWILIO_FINAL_STATUSES: dict[str, tuple[str, str]] = {
    "delivered": (DeliveryStatus.DELIVERED, Reason.DELIVERED),
    "failed": (DeliveryStatus.FAILED, Reason.UNDELIVERED),
    "undelivered": (DeliveryStatus.FAILED, Reason.UNDELIVERED),
}


def twilio_signature_valid(request: HttpRequest) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    url = settings.RELAY_PUBLIC_URL + request.get_full_path()
    return bool(RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(url, request.POST, signature))


@csrf_exempt
@require_POST
def twilio_status(request: HttpRequest) -> HttpResponse:
    if not twilio_signature_valid(request):
        log.warning("twilio_signature_rejected", path=request.path)
        return JsonResponse({"detail": "Invalid Twilio signature."}, status=403)
    sid, twilio_status_value = request.POST.get("MessageSid", ""), request.POST.get("MessageStatus", "")
    if not sid or not twilio_status_value:
        return JsonResponse(
            {"errors": {"MessageSid": ["MessageSid and MessageStatus are required."]}}, status=400
        )
    if twilio_status_value not in TWILIO_FINAL_STATUSES:
        return HttpResponse(status=204)
    status, reason = TWILIO_FINAL_STATUSES[twilio_status_value]
    error = (
        f"twilio {twilio_status_value} (ErrorCode {request.POST['ErrorCode']})"
        if request.POST.get("ErrorCode")
        else ""
    )
    if error:
        log.info("twilio_delivery_error", sid=sid, error_code=request.POST["ErrorCode"])
    if apply_status_report(StatusReport("twilio", sid, status, reason, error)) is None:
        return JsonResponse({"detail": "No delivery with this MessageSid."}, status=404)
    return HttpResponse(status=204)
