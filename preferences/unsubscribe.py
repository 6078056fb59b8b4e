"""One-click unsubscribe (RFC 8058): ``GET/POST /api/unsubscribe/<signed token>``.

No API key: the signed token is the credential, and it can only turn one preference off.
Mail clients POST ``List-Unsubscribe=One-Click`` to the List-Unsubscribe URL; a person
clicking the footer link sends a GET. Both turn the (channel, event type) preference off;
doing it again changes nothing.
"""

from __future__ import annotations

import structlog
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from notifications.models import Subscriber
from preferences.models import Preference
from preferences.unsubscribe_tokens import UnsubscribeClaim, read_unsubscribe_token

log = structlog.get_logger(__name__)


def unsubscribe(claim: UnsubscribeClaim) -> Preference | None:
    """Turn the claimed preference off; None when the subscriber no longer exists."""
    if not Subscriber.objects.filter(pk=claim.subscriber_id).exists():
        return None
    preference, _ = Preference.objects.update_or_create(
        subscriber_id=claim.subscriber_id,
        channel=claim.channel,
        event_type=claim.event_type,
        defaults={"enabled": False},
    )
    log.info(
        "subscriber_unsubscribed",
        subscriber_id=claim.subscriber_id,
        channel=claim.channel,
        event_type=claim.event_type,
    )
    return preference


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe_view(request: HttpRequest, token: str) -> HttpResponse:
    claim = read_unsubscribe_token(token)
    if claim is None:
        return JsonResponse({"errors": {"token": ["This unsubscribe link is invalid."]}}, status=400)
    preference = unsubscribe(claim)
    if preference is None:
        return JsonResponse({"detail": "This subscriber no longer exists."}, status=404)
    return JsonResponse(
        {
            "unsubscribed": True,
            "userId": preference.subscriber.user_id,
            "channel": claim.channel,
            "eventType": claim.event_type,
        }
    )
