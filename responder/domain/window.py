"""A message template the platform approved, sent instead of a free message once a channel's
reply window has closed (WhatsApp: 24 hours after the customer last wrote)."""

from __future__ import annotations

from dataclasses import dataclass

# What a template's body variables ({{1}}, {{2}}...) can be filled with, in the admin's words.
PARAMETERS = ("customer_name", "ref")


@dataclass(frozen=True)
class ApprovedTemplate:
    """One of our message kinds (csat_survey...) as the platform's approved template."""

    name: str
    fallback: str  # the platform's language code for a customer language not in `codes`
    codes: tuple[tuple[str, str], ...] = ()  # (customer language, the platform's code)
    parameters: tuple[str, ...] = ()  # what fills the body's variables, in order
    ratings: tuple[int, ...] = ()  # the survey rating each quick-reply button gives, in order

    def code(self, language: str) -> str:
        """The template's language for a customer who writes in `language`."""
        return dict(self.codes).get(language, self.fallback)
