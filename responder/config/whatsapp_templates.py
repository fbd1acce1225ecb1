"""A WhatsApp channel's `templates`: the approved template each automatic message goes as once
the customer's 24-hour window has closed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from responder.config.rules import RulesConfig, templates_used
from responder.config.types import FrozenModel, fail
from responder.domain.window import ApprovedTemplate

_KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)  # our template names, as rules say
# Meta's rules for a message template: lowercase letters, digits and _; a language code like
# id, en or en_US (WhatsApp's "Supported languages").
_WA_TEMPLATE = re.compile(r"[a-z0-9_]{1,512}", re.ASCII)
_WA_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2,4})?", re.ASCII)
_OUR_LANGUAGE = re.compile(r"[a-z]{2,3}", re.ASCII)
# What responder sends a customer on its own, besides the canned answers rules name.
AUTOMATIC = ("acknowledgement", "auto_closed", "csat_survey", "out_of_hours", "welcome")
SURVEY = "csat_survey"
# Meta: a template has at most 10 buttons, quick replies among them.
MAX_BUTTONS = 10
NAME_EXPECTED = "expected a template name as Meta shows it (a-z, 0-9, _)"


def _pattern(kind: str, rx: re.Pattern[str], message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not rx.fullmatch(value):
            raise fail(kind, message)
        return value

    return AfterValidator(check)


TemplateName = Annotated[str, _pattern("template", _WA_TEMPLATE, NAME_EXPECTED)]
LanguageCode = Annotated[
    str,
    _pattern("language", _WA_LANGUAGE, "expected a language code as Meta shows it: id, en, en_US"),
]
Rating = Annotated[int, Field(strict=True)]


class WhatsAppTemplate(FrozenModel):
    """A message template Meta approved, sent after the 24-hour window. Written as its name
    alone (`csat_survey: toko_survey_v1`: in the channel's language) or as a mapping."""

    name: TemplateName
    # Its language code in WhatsApp Manager; default: the channel's language.
    language: LanguageCode | None = None
    # One translation per customer language (id: id, en: en_US); others get `language`.
    languages: dict[str, LanguageCode] = Field(default_factory=dict)
    # What fills the body's {{1}}, {{2}}...: the customer's name, the ticket's reference.
    parameters: tuple[Literal["customer_name", "ref"], ...] = Field(default=(), max_length=10)
    # csat_survey only: the rating each of its quick-reply buttons gives, in order.
    rating_buttons: tuple[Rating, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            message = "expected a template name, or a mapping with its name and language"
            raise fail("template", message)
        if not _WA_TEMPLATE.fullmatch(value):
            raise fail("template", NAME_EXPECTED)
        return {"name": value}

    @field_validator("languages")
    @classmethod
    def _ours(cls, value: dict[str, str]) -> dict[str, str]:
        for language in value:
            if not _OUR_LANGUAGE.fullmatch(language):
                message = f'"{language}" is not a customer language as templates name it (id, en)'
                raise fail("language", message, (language,), show_input=False)
        return value

    @field_validator("rating_buttons")
    @classmethod
    def _buttons(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if len(value) > MAX_BUTTONS:
            raise fail("template", f"a template has at most {MAX_BUTTONS} buttons")
        for index, rating in enumerate(value):
            if not 1 <= rating <= 5:
                raise fail("template", f"a rating is 1-5, got {rating}", (index,))
        if len(set(value)) != len(value):
            message = "two buttons give the same rating: each rating once"
            raise fail("template", message, show_input=False)
        return value

    def approved(self, channel_language: str) -> ApprovedTemplate:
        """The template as deciding uses it, its languages resolved for the channel."""
        return ApprovedTemplate(
            self.name,
            self.language or channel_language,
            tuple(sorted(self.languages.items())),
            self.parameters,
            self.rating_buttons,
        )


def check_kinds(value: dict[str, WhatsAppTemplate]) -> dict[str, WhatsAppTemplate]:
    """Each key is one of our template names; only the survey's template has rating buttons."""
    for kind, template in value.items():
        if not _KIND.fullmatch(kind):
            message = f'"{kind}" is not one of our template names (lowercase letters, '
            message += "digits, - or _, like csat_survey)"
            raise fail("template", message, (kind,), show_input=False)
        if template.rating_buttons and kind != SURVEY:
            message = f"only {SURVEY}'s template answers a survey with its buttons"
            raise fail("template", message, (kind, "rating_buttons"), show_input=False)
    return value


def check_template_kinds(rules: RulesConfig, channels: Sequence[object]) -> None:
    """A template for a message responder never sends a customer on its own would never go:
    a typo the admin should hear of at `check`, not find out from a missing survey."""
    known = sorted({*AUTOMATIC, *templates_used(rules)})
    for index, channel in enumerate(channels):
        templates: dict[str, WhatsAppTemplate] = getattr(channel, "templates", None) or {}
        for kind in templates:
            if kind not in known:
                message = (
                    f'"{kind}" is not a message responder sends a customer on its own: '
                    f"expected one of {', '.join(known)}"
                )
                raise fail("template", message, ("channels", index, "templates", kind))
