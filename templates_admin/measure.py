"""Channel limits: SMS segments (GSM-7 or UCS-2) and push texts cut to what FCM accepts."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each) and its extension table (escape + char).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

# (units in a single message, units per part of a concatenated one): the user data header of
# a multipart SMS takes 7 septets (GSM-7) or 3 UTF-16 units (UCS-2).
SEGMENT_SIZES = {"GSM-7": (160, 153), "UCS-2": (70, 67)}

# FCM refuses a notification larger than 4,000 bytes; keep title and body well inside it so the
# keys, the action URL and the data still fit.
PUSH_TITLE_MAX_BYTES = 200
PUSH_TEXT_MAX_BYTES = 3500
ELLIPSIS = "…"


@dataclass(frozen=True)
class SmsSize:
    encoding: str
    units: int
    segments: int


def _gsm7_units(char: str) -> int | None:
    if char in GSM7_BASIC:
        return 1
    if char in GSM7_EXTENSION:
        return 2
    return None


def sms_size(text: str) -> SmsSize:
    """How many segments a carrier bills for ``text``; an escape pair or a surrogate pair
    never straddles two segments, as real encoders split them."""
    widths = [_gsm7_units(char) for char in text]
    if all(width is not None for width in widths):
        encoding, units = "GSM-7", [int(width or 0) for width in widths]
    else:
        encoding, units = "UCS-2", [2 if ord(char) > 0xFFFF else 1 for char in text]
    single, part = SEGMENT_SIZES[encoding]
    total = sum(units)
    if total <= single:
        return SmsSize(encoding, total, 1 if total else 0)
    segments, used = 1, 0
    for width in units:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return SmsSize(encoding, total, segments)


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` cut at a character boundary to at most ``max_bytes`` UTF-8 bytes, with an ellipsis."""
    if len(text.encode()) <= max_bytes:
        return text
    budget = max_bytes - len(ELLIPSIS.encode())
    cut = text.encode()[:budget].decode(errors="ignore")
    return cut.rstrip() + ELLIPSIS


def fit_push(title: str, body: str) -> tuple[str, str]:
    title = truncate_utf8(title, PUSH_TITLE_MAX_BYTES)
    body = truncate_utf8(body, PUSH_TEXT_MAX_BYTES - len(title.encode()))
    return title, body
