"""Why WhatsApp could not deliver a message we sent, by Meta's error code, in the admin's words."""

from __future__ import annotations

# Cloud API error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes)
# that a failed status callback carries, with what they mean for whoever reads `status`.
WHY = {
    131047: (
        "the customer's 24-hour window had closed: WhatsApp takes only approved templates then"
    ),
    131026: (
        "the number cannot receive it: not on WhatsApp, an old WhatsApp, or WhatsApp's "
        "current terms not accepted yet"
    ),
}


def why(code: int | None) -> str:
    """What the error means, or "" for a code without advice."""
    return "" if code is None else WHY.get(code, "")
