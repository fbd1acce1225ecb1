"""The admin's rules, table-driven: which rule a message matches, and what the models refuse."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from responder.config.problems import ConfigSource, problems_from
from responder.config.rules import DEFAULT_RULES, RulesConfig, VipPatterns, templates_used
from responder.config.types import FrozenModel
from responder.core.rules import Facts, evaluate, is_vip


class Section(FrozenModel):
    """The two keys as Config holds them, so errors read as the admin will see them."""

    vip: VipPatterns = ()
    rules: RulesConfig = DEFAULT_RULES


VIP = ["boss@bigclient.co.id", "*@pemda.go.id"]

RULES: list[dict[str, Any]] = [
    {"name": "vip-fast", "when": {"vip": True}, "then": {"priority": "high", "tags": ["vip"]}},
    {"name": "harga", "when": {"subject_contains": ["harga", "price", "grosir"]}},
    {"name": "jalan", "when": {"body_contains": ["Straße"]}},
    {"name": "jam-buka", "when": {"body_matches": r"\bjam\s+(buka|operasional)\b"}},
    {"name": "ongkir", "when": {"text_contains": ["ongkir"]}},
    {"name": "invoice", "when": {"subject_matches": ["^inv-\\d+", "faktur"]}},
    {"name": "internal", "when": {"domain": ["toko-contoh.id"]}, "then": {"template": "none"}},
    {"name": "partner", "when": {"sender": ["*@partner.example"]}},
    {"name": "wa", "when": {"channel": ["wa-shop"]}},
    {"name": "english", "when": {"language": ["en"], "open": False}},
    {"name": "libur", "when": {"holiday": True, "channel": ["support-mail"]}},
    {"name": "tutup", "when": {"open": False}},
    {"name": "default"},
]

BASE = Facts(
    channel="support-mail",
    sender="budi@example.com",
    subject="Pesanan saya",
    body="Halo",
    language="id",
    is_open=True,
    holiday=None,
    is_vip=False,
)


def section(**data: Any) -> Section:
    return Section.model_validate(data)


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({}, "default"),
        ({"is_vip": True, "subject": "harga"}, "vip-fast"),  # first match wins
        ({"subject": "Daftar HARGA grosir"}, "harga"),
        ({"subject": "What is the PRICE?"}, "harga"),
        ({"body": "harga di sini"}, "default"),  # subject_contains ignores the body
        ({"body": "Alamat: Hauptstraße 5"}, "jalan"),
        ({"body": "HAUPTSTRASSE 5"}, "jalan"),  # casefold: ß == SS
        ({"body": "Kapan JAM  Buka toko?"}, "jam-buka"),
        ({"body": "jam bukanya"}, "default"),  # \b: a whole word only
        ({"subject": "Ongkir ke Bali"}, "ongkir"),
        ({"body": "berapa ONGKIR?"}, "ongkir"),
        ({"subject": "INV-2024 lunas"}, "invoice"),
        ({"subject": "re: Faktur"}, "invoice"),
        ({"subject": "lunas inv-2024"}, "default"),
        ({"sender": "staff@toko-contoh.id"}, "internal"),
        ({"sender": "gudang@jkt.toko-contoh.id"}, "internal"),  # subdomain
        ({"sender": "x@nottoko-contoh.id"}, "default"),  # only a whole label matches
        ({"sender": "ana@partner.example"}, "partner"),
        ({"sender": "ana@sub.partner.example"}, "default"),  # a glob is exact
        ({"sender": None}, "default"),
        ({"channel": "wa-shop"}, "wa"),
        ({"language": "en", "is_open": False}, "english"),
        ({"language": "en-gb", "is_open": False}, "english"),
        ({"language": None, "is_open": False}, "tutup"),
        ({"language": "en"}, "default"),  # all conditions must hold
        ({"holiday": "Idul Fitri"}, "libur"),
        ({"holiday": "Idul Fitri", "channel": "other"}, "default"),
        ({"is_open": False}, "tutup"),
    ],
)
def test_evaluate(changes: dict[str, Any], expected: str) -> None:
    rules = section(rules=RULES).rules
    assert evaluate(rules, replace(BASE, **changes)).rule == expected


def test_match_carries_the_action() -> None:
    rules = section(rules=RULES).rules
    action = evaluate(rules, replace(BASE, is_vip=True)).action
    assert (action.priority, action.tags, action.template) == ("high", ("vip",), "auto")
    assert evaluate(rules, replace(BASE, sender="a@toko-contoh.id")).action.template == "none"


def test_defaults_and_templates_used() -> None:
    assert evaluate(Section().rules, BASE).rule == "default"
    rules = section(
        rules=[
            {"name": "a", "when": {"vip": True}, "then": {"template": "prices"}},
            {"name": "b", "when": {"vip": False}, "then": {"template": "none"}},
            {"name": "c", "then": {"template": "hours"}},
        ]
    ).rules
    assert templates_used(rules) == {"prices", "hours"}
    assert templates_used(DEFAULT_RULES) == set()


@pytest.mark.parametrize(
    "address, expected",
    [
        ("boss@bigclient.co.id", True),
        ("BOSS@BigClient.co.id", True),
        ("kepala@pemda.go.id", True),
        ("kepala@dinas.pemda.go.id", False),
        ("other@bigclient.co.id", False),
        (None, False),
    ],
)
def test_is_vip(address: str | None, expected: bool) -> None:
    assert is_vip(section(vip=VIP).vip, address) is expected


def test_vip_patterns_are_lowercased() -> None:
    assert section(vip=["Boss@BigClient.co.id"]).vip == ("boss@bigclient.co.id",)


def default(**then: Any) -> dict[str, Any]:
    return {"name": "default", "then": then}


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"rules": [{"name": "a", "when": {"body_matches": "(jam"}}, default()]},
            "rules[0].when.body_matches[0]: invalid regular expression: missing ), "
            'unterminated subpattern at position 0, got "(jam"',
        ),
        (
            {"rules": [{"name": "a", "when": {"vip": True}}]},
            "rules[0].when: the last rule must have no `when`: it is the default",
        ),
        (
            {"rules": [{"name": "a"}, {"name": "b"}]},
            'rules[0].name: rule "a" has no `when`, so the rules after it never run',
        ),
        (
            {"rules": [{"name": "a", "when": {"vip": True}}, {"name": "a"}]},
            'rules[1].name: duplicate rule name "a" (also used by rules[0])',
        ),
        (
            {"rules": [{"name": "a", "when": {"subjek": ["x"]}}, default()]},
            'rules[0].when: unknown key "subjek" (expected one of: channel, sender, domain, '
            "subject_contains, body_contains, text_contains, subject_matches, body_matches, "
            "language, open, holiday, vip)",
        ),
        (
            {"rules": [default(priority="asap")]},
            'rules[0].then.priority: expected one of low, normal, high, urgent, got "asap"',
        ),
        (
            {"rules": [{"name": "a", "when": {}}, default()]},
            "rules[0].when: give at least one condition, or leave `when` out for the default rule",
        ),
        (
            {"rules": [{"name": "a", "when": {"domain": ["@toko.id"]}}, default()]},
            'rules[0].when.domain[0]: expected a domain like example.com, got "@toko.id"',
        ),
        (
            {"rules": [{"name": "a", "when": {"subject_contains": []}}, default()]},
            "rules[0].when.subject_contains: expected at least 1 entry, got none",
        ),
        (
            {"rules": [default(template="../etc")]},
            'rules[0].then.template: expected "auto", "none" or a template name '
            '(lowercase letters, digits, - or _), got "../etc"',
        ),
        ({"rules": [{"name": "Bad Name"}]}, "rules[0].name: expected up to 40 lowercase"),
        ({"rules": []}, "rules: expected at least 1 entry, got none"),
        ({"vip": ["pemda.go.id"]}, "vip[0]: expected an address or a pattern like *@example.com"),
        (
            {"rules": [{"name": "a", "when": {"open": "yes"}}, default()]},
            'rules[0].when.open: expected true or false, got "yes"',
        ),
    ],
)
def test_validation_errors(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        Section.model_validate(data)
    problems = problems_from(info.value, Section, ConfigSource())
    assert len(problems) == 1
    assert f"{problems[0].path}: {problems[0].message}".startswith(message)


def test_rules_validate_on_their_own() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(RulesConfig)
    with pytest.raises(ValidationError, match="the last rule must have no `when`"):
        adapter.validate_python([{"name": "a", "when": {"vip": True}}])


def test_unvalidated_rules_without_default_raise() -> None:
    rules = section(rules=RULES).rules[:1]
    with pytest.raises(ValueError, match="no rule matched"):
        evaluate(rules, BASE)
