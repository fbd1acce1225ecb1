"""Evaluating the admin's rules, pure: the first rule whose conditions hold decides."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property

from responder.config.rules import Action, RulesConfig, When, fold

__all__ = ["Facts", "Match", "evaluate", "is_vip"]


@dataclass(frozen=True)
class Facts:
    """What the rules may look at for one message."""

    channel: str
    sender: str | None  # lowercased address
    subject: str
    body: str
    language: str | None  # detected language code
    is_open: bool
    holiday: str | None  # the holiday's name, None on an ordinary day
    is_vip: bool


@dataclass(frozen=True)
class Match:
    rule: str
    action: Action


def is_vip(vip_patterns: Iterable[str], address: str | None) -> bool:
    """Whether address equals one of the addresses, or fits one of the globs, ignoring case."""
    if not address:
        return False
    address = address.lower()
    return any(fnmatchcase(address, pattern.lower()) for pattern in vip_patterns)


class _Folded:
    """The message's text in caseless form, folded only if a keyword condition asks, once."""

    def __init__(self, facts: Facts) -> None:
        self._facts = facts

    @cached_property
    def subject(self) -> str:
        return fold(self._facts.subject)

    @cached_property
    def body(self) -> str:
        return fold(self._facts.body)


def _domain_matches(sender: str, domains: Iterable[str]) -> bool:
    domain = sender.rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in domains)


def _language_matches(language: str, wanted: Iterable[str]) -> bool:
    # A regional tag from the detector ("en-gb") still counts as its language ("en").
    language = language.lower()
    return any(language == w or language.startswith(w + "-") for w in wanted)


def _holds(when: When, facts: Facts, folded: _Folded) -> bool:
    # Cheap comparisons first; keyword and regex scans of the body only when they decide.
    if when.open is not None and when.open != facts.is_open:
        return False
    if when.holiday is not None and when.holiday != (facts.holiday is not None):
        return False
    if when.vip is not None and when.vip != facts.is_vip:
        return False
    if when.channel is not None and facts.channel not in when.channel:
        return False
    sender = facts.sender.lower() if facts.sender else None
    if when.sender is not None and not (sender and is_vip(when.sender, sender)):
        return False
    if when.domain is not None and not (sender and _domain_matches(sender, when.domain)):
        return False
    if when.language is not None and not (
        facts.language and _language_matches(facts.language, when.language)
    ):
        return False
    compiled = when.compiled
    if compiled.subject_keywords and not any(
        k in folded.subject for k in compiled.subject_keywords
    ):
        return False
    if compiled.body_keywords and not any(k in folded.body for k in compiled.body_keywords):
        return False
    if compiled.text_keywords and not any(
        k in folded.subject or k in folded.body for k in compiled.text_keywords
    ):
        return False
    if compiled.subject_regexes and not any(
        rx.search(facts.subject) for rx in compiled.subject_regexes
    ):
        return False
    return not compiled.body_regexes or any(rx.search(facts.body) for rx in compiled.body_regexes)


def evaluate(rules: RulesConfig, facts: Facts) -> Match:
    """The first rule whose conditions all hold; validated rules always end with a default."""
    folded = _Folded(facts)
    for rule in rules:
        if rule.when is None or _holds(rule.when, facts, folded):
            return Match(rule.name, rule.then)
    raise ValueError("no rule matched: the rules must end with a default (a rule with no `when`)")
