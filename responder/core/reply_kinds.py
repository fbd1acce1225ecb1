"""What each kind of reply we send is, and which of them answer the customer's question."""

from __future__ import annotations

from responder.core.decisions import OUT_OF_HOURS
from responder.core.settings import CSAT_LOW, CSAT_SURVEY
from responder.domain.sla_policy import SLA_ALERT

# What staff write and what is posted for them; the per-sender cap counts automatic replies.
STAFF_REPLY = "staff_reply"
# Replies that never reached the customer: given up on, or too old to send (issue 13). They
# count neither against the reply cap nor as the closed period's one out-of-hours reply.
UNSENT = ("parked", "expired")
STAFF_RELAY = "staff_relay"
STAFF_NOTICE = "staff_notice"
FOLLOWS_UP = "follows_up"  # a ticket event: this ticket follows up the one in its detail
# A survey's Telegram confirmation edits the survey in place: it is no new message; and a
# survey goes at most once per customer in `once_per`, so it must not use up the cap that
# keeps the customer's next acknowledgement from going.
CSAT_THANKS = "csat_thanks"
# A ticket event, not a reply: the customer left an email address to be answered at (the web
# chat's offline form, issue 17); its detail is the address, the latest one wins.
EMAIL_LEFT = "email_left"
# An inbound row's outcome when the customer wrote it, as opposed to staff's own mail or
# suppressed machine mail.
CUSTOMER_OUTCOMES = ("replied", "recorded", "follow-up", "survey-answer")
PERSONAL_KINDS = (STAFF_REPLY, STAFF_RELAY, STAFF_NOTICE, CSAT_THANKS, CSAT_SURVEY)

# What we send that answers nobody's question: a ticket whose replies are only these was not
# answered by a rule's own template.
NOT_ANSWERS = frozenset(
    {
        "acknowledgement",
        OUT_OF_HOURS,
        "staff_notification",
        STAFF_RELAY,
        STAFF_REPLY,
        STAFF_NOTICE,
        "welcome",
        CSAT_SURVEY,
        CSAT_THANKS,
        CSAT_LOW,
        SLA_ALERT,
    }
)


def is_canned_answer(kind: str) -> bool:
    """A reply a rule chose as its answer (a template such as "payment")."""
    return kind not in NOT_ANSWERS
