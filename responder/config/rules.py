"""The admin's `rules:` and `vip:` sections: conditions and actions, validated and precompiled."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr, model_validator

from responder.config.types import ChannelName, FrozenModel, Text, fail, unique_names

__all__ = [
    "DEFAULT_RULES",
    "Action",
    "Compiled",
    "Priority",
    "Rule",
    "RulesConfig",
    "VipPatterns",
    "When",
    "fold",
    "templates_used",
]

Priority = Literal["low", "normal", "high", "urgent"]
# Template values that name no canned answer: chosen by opening hours, or no reply at all.
AUTO, NONE = "auto", "none"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_LANGUAGE = re.compile(r"[a-z]{2,3}")
_TEMPLATE = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# A canned file is named as it lies in the templates folder: no folders, nothing hidden.
_FILE = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,119}")
MAX_ATTACH = 5


def fold(text: str) -> str:
    """Caseless form for keyword matching: "Straße" and "STRASSE" both become "strasse"."""
    # NFKC first so composed and decomposed accents (and full-width letters) compare equal.
    return unicodedata.normalize("NFKC", text).casefold()


def _address_pattern(value: str) -> str:
    value = value.strip().lower()
    if "@" not in value or any(c.isspace() for c in value):
        raise fail("address_pattern", "expected an address or a pattern like *@example.com")
    return value


def _domain(value: str) -> str:
    value = value.strip().lower()
    if not _DOMAIN.fullmatch(value):
        raise fail("domain", "expected a domain like example.com")
    return value


def _language(value: str) -> str:
    value = value.strip().lower()
    if not _LANGUAGE.fullmatch(value):
        raise fail("language", "expected a language code like id or en")
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise fail("regex", f"invalid regular expression: {exc.msg}{where}") from None
    return value


def _one_or_many(value: object) -> object:
    # A single pattern is the common case; a list is for alternatives.
    return [value] if isinstance(value, str) else value


def _template(value: str) -> str:
    if not _TEMPLATE.fullmatch(value):
        raise fail(
            "template",
            f'expected "{AUTO}", "{NONE}" or a template name (lowercase letters, digits, - or _)',
        )
    return value


def _file(value: str) -> str:
    if not _FILE.fullmatch(value) or value.endswith(".j2"):
        raise fail(
            "attach",
            "expected the name of a file in the templates folder, like daftar-harga.pdf "
            "(no folder, not a template)",
        )
    return value


def _files(value: tuple[str, ...]) -> tuple[str, ...]:
    if len(set(value)) != len(value):
        raise fail("attach", "a file is named twice", show_input=False)
    return value


AddressPattern = Annotated[Text, AfterValidator(_address_pattern)]
VipPatterns = tuple[AddressPattern, ...]
_Names = Annotated[tuple[ChannelName, ...], Field(min_length=1)]
_Addresses = Annotated[tuple[AddressPattern, ...], Field(min_length=1)]
_Domains = Annotated[tuple[Annotated[Text, AfterValidator(_domain)], ...], Field(min_length=1)]
_Keywords = Annotated[tuple[Text, ...], Field(min_length=1)]
_Regexes = Annotated[
    tuple[Annotated[Text, AfterValidator(_regex)], ...],
    BeforeValidator(_one_or_many),
    Field(min_length=1),
]
_Languages = Annotated[tuple[Annotated[Text, AfterValidator(_language)], ...], Field(min_length=1)]


@dataclass(frozen=True)
class Compiled:
    """A condition's text tests in the form evaluation uses, prepared once at load time."""

    subject_keywords: tuple[str, ...]
    body_keywords: tuple[str, ...]
    text_keywords: tuple[str, ...]
    subject_regexes: tuple[re.Pattern[str], ...]
    body_regexes: tuple[re.Pattern[str], ...]


class When(FrozenModel):
    """A rule's conditions: every one given must hold; a list holds when any entry does."""

    channel: _Names | None = None
    sender: _Addresses | None = None
    domain: _Domains | None = None  # a domain also covers its subdomains
    subject_contains: _Keywords | None = None
    body_contains: _Keywords | None = None
    text_contains: _Keywords | None = None  # in the subject or the body
    subject_matches: _Regexes | None = None
    body_matches: _Regexes | None = None
    language: _Languages | None = None
    open: bool | None = Field(default=None, strict=True)
    holiday: bool | None = Field(default=None, strict=True)
    vip: bool | None = Field(default=None, strict=True)

    _compiled: Compiled = PrivateAttr()

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise fail(
                "empty_when",
                "give at least one condition, or leave `when` out for the default rule",
                show_input=False,
            )
        return self

    def model_post_init(self, context: Any, /) -> None:
        def regexes(patterns: tuple[str, ...] | None) -> tuple[re.Pattern[str], ...]:
            return tuple(re.compile(p, re.IGNORECASE) for p in patterns or ())

        self._compiled = Compiled(
            tuple(map(fold, self.subject_contains or ())),
            tuple(map(fold, self.body_contains or ())),
            tuple(map(fold, self.text_contains or ())),
            regexes(self.subject_matches),
            regexes(self.body_matches),
        )

    @property
    def compiled(self) -> Compiled:
        return self._compiled


class Action(FrozenModel):
    """What a matching rule does with the message."""

    # "auto": acknowledgement when open, out-of-hours when closed; "none": record, no reply;
    # any other name: that canned answer, whatever the hours.
    template: Annotated[Text, AfterValidator(_template)] = AUTO
    language: Literal["id", "en"] | None = None  # forces the reply language
    priority: Priority = "normal"
    tags: tuple[Text, ...] = ()
    sla: Text | None = None
    notify_staff: bool = Field(default=False, strict=True)
    # Files sent with the canned answer, from the templates folder (issue 18).
    attach: Annotated[
        tuple[Annotated[Text, AfterValidator(_file)], ...],
        Field(max_length=MAX_ATTACH),
        AfterValidator(_files),
    ] = ()

    @model_validator(mode="after")
    def _answer_carries(self) -> Self:
        if self.attach and self.template == NONE:
            message = "files go with an answer: `template: none` sends nothing to attach them to"
            raise fail("attach", message, ("attach",), show_input=False)
        return self


class Rule(FrozenModel):
    """One entry of `rules:`; the first whose conditions hold decides."""

    name: ChannelName
    when: When | None = None  # None: matches everything, which only the last rule may do
    then: Action = Field(default_factory=Action)


def _check_rules(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    unique_names(rules, "rules", "rule")
    last = len(rules) - 1
    for index, rule in enumerate(rules[:last]):
        if rule.when is None:
            # Everything after it could never match: almost certainly a misplaced default.
            message = f'rule "{rule.name}" has no `when`, so the rules after it never run'
            raise fail("default_rule", message, (index, "name"), show_input=False)
    if rules[last].when is not None:
        message = "the last rule must have no `when`: it is the default"
        raise fail("default_rule", message, (last, "when"), show_input=False)
    return rules


RulesConfig = Annotated[tuple[Rule, ...], Field(min_length=1), AfterValidator(_check_rules)]

DEFAULT_RULES: RulesConfig = (Rule(name="default"),)


def templates_used(rules: RulesConfig) -> set[str]:
    """The canned answers the rules name, beyond the built-in automatic ones."""
    return {rule.then.template for rule in rules} - {AUTO, NONE}
