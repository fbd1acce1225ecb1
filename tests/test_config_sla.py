"""Tests for the `sla:` config section: validation, error positions and the built policies."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from responder.config import Config, load_config_text
from responder.config.sla import SlaConfig, build_policies
from responder.domain.sla_policy import NO_SLA, Audience, Policy, SlaPolicies, Stage, Target
from responder.errors import ConfigError

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"

# Line numbers matter: the error tests assert positions in BASE + the text they append
# (so the appended text starts on line 16).
BASE = """\
timezone: Asia/Jakarta
state_dir: state
channels:
  - name: mail
    type: email
    address: support@example.com
    imap: {host: h, port: 993, username: u, password_file: imap.pw}
    smtp: {host: h, port: 25}
  - name: bot
    type: telegram
    token_file: bot.token
    staff_chat_id: -1001234567890
  - name: lonely-bot
    type: telegram
    token_file: bot.token
"""

FULL = """\
rules:
  - name: vip
    when: {vip: true}
    then: {sla: vip}
  - name: default
sla:
  default: standard
  policies:
    - name: standard
      first_response: 4h
      resolution: 16h
      remind: ["50%", "12.50%", "90m before"]
      notify:
        email: [Team@Shop.example]
        telegram: [bot]
      escalate:
        - after: 2h
          email: [owner@shop.example]
        - after: 1h
          telegram: [bot]
          email: [boss@shop.example]
      wait_on: reply
    - name: vip
      time: calendar
      first_response: 4s
      remind: []
      breach: false
      escalate:
        - after: 1d
          telegram: [bot]
"""


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    (tmp_path / "imap.pw").write_text("secret\n")
    (tmp_path / "bot.token").write_text(TOKEN + "\n")
    return tmp_path


def load(text: str, base_dir: Path) -> Config:
    return load_config_text(BASE + text, "config.yaml", base_dir, environ={})


def problems(text: str, base_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text, base_dir)
    return [str(p) for p in info.value.problems]


def test_a_full_section_builds_the_expected_policies(base_dir: Path) -> None:
    config = load(FULL, base_dir)
    assert config.sla is not None
    built = build_policies(config.sla)
    notify = Audience(("team@shop.example",), ("bot",))
    owner = Audience(("owner@shop.example",))
    boss = Audience(("boss@shop.example",), ("bot",))

    def stages(target: float) -> tuple[Stage, ...]:
        return (
            Stage("remind-12.5%", "reminder", target * 0.125, notify),
            Stage("remind-50%", "reminder", target * 0.5, notify),
            Stage("remind-1h30m-before", "reminder", target - 90, notify),
            Stage("breach", "breach", target, notify),
            Stage("escalate-2", "escalation", target + 60, boss),
            Stage("escalate-1", "escalation", target + 120, owner),
        )

    standard = Policy(
        "standard",
        business_time=True,
        wait_on="reply",
        targets=(
            Target("first_response", 240.0, stages(240.0)),
            Target("resolution", 960.0, stages(960.0)),
        ),
    )
    vip = Policy(
        "vip",
        business_time=False,
        wait_on="question",
        targets=(
            Target(
                "first_response",
                4 / 60,
                (Stage("escalate-1", "escalation", 4 / 60 + 1440, Audience((), ("bot",))),),
            ),
        ),
    )
    assert built == SlaPolicies({"standard": standard, "vip": vip}, "standard")
    assert built.for_ticket(None) == standard
    assert built.for_ticket("vip") == vip


def test_defaults(base_dir: Path) -> None:
    config = load("sla:\n  policies:\n    - name: basic\n      resolution: 10h\n", base_dir)
    assert config.sla is not None
    (policy,) = config.sla.policies
    assert (policy.time, policy.breach, policy.wait_on, policy.escalate) == (
        "business",
        True,
        "question",
        (),
    )
    assert [point.text for point in policy.remind] == ["80%"]
    built = build_policies(config.sla)
    assert built.default is None and built.for_ticket(None) is None
    assert built.for_ticket("basic") == Policy(
        "basic",
        business_time=True,
        wait_on="question",
        targets=(
            Target(
                "resolution",
                600.0,
                (Stage("remind-80%", "reminder", 480.0), Stage("breach", "breach", 600.0)),
            ),
        ),
    )


def test_no_section_means_no_sla(base_dir: Path) -> None:
    assert load("", base_dir).sla is None
    assert build_policies(None) is NO_SLA


def test_calendar_time_accepts_days(base_dir: Path) -> None:
    text = (
        "sla:\n  policies:\n    - name: slow\n      time: calendar\n"
        '      resolution: 2d\n      remind: ["1d before"]\n'
    )
    config = load(text, base_dir)
    assert config.sla is not None
    (target,) = build_policies(config.sla).policies["slow"].targets
    assert target.minutes == 2880.0
    assert target.stages[0] == Stage("remind-1d-before", "reminder", 1440.0)


def test_models_built_in_code_validate_the_same(base_dir: Path) -> None:
    section = SlaConfig.model_validate(
        {"policies": [{"name": "p", "first_response": "30m", "remind": ["10m before"]}]}
    )
    assert section.policies[0].first_response == timedelta(minutes=30)
    assert build_policies(section).policies["p"].targets[0].stages[0].at == 20.0


def policy(*lines: str, name: str = "p") -> str:
    """An sla section with one policy (its keys from line 19 on)."""
    body = "".join(f"      {line}\n" for line in lines)
    return f"sla:\n  policies:\n    - name: {name}\n{body}"


DAYS = 'in business time "{}" is ambiguous; write open hours, e.g. 8h for one 8-hour working day'
P = "sla.policies[0]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            policy("first_response: 1h", name="a") + "    - name: a\n      resolution: 1h\n",
            [
                'config.yaml:20:13: sla.policies[1].name: duplicate SLA policy name "a" '
                "(also used by sla.policies[0])"
            ],
            id="duplicate name",
        ),
        pytest.param(
            policy("first_response: 1h", name="VIP"),
            [
                f"config.yaml:18:13: {P}.name: expected up to 40 lowercase letters, digits, "
                '- or _ (not starting with - or _), got "VIP"'
            ],
            id="name pattern",
        ),
        pytest.param(
            "sla:\n  default: gold\n" + policy("first_response: 1h")[5:],
            ['config.yaml:17:12: sla.default: unknown SLA policy "gold"; the policies are: p'],
            id="unknown default",
        ),
        pytest.param(
            "rules:\n  - name: vip\n    when: {vip: true}\n    then: {sla: gold}\n"
            "  - name: default\n" + policy("first_response: 1h"),
            [
                'config.yaml:19:17: rules[0].then.sla: unknown SLA policy "gold"; '
                "the policies are: p"
            ],
            id="unknown rule policy",
        ),
        pytest.param(
            "rules:\n  - name: default\n    then:\n      sla: gold\n",
            [
                "config.yaml:19:12: rules[0].then.sla: there is no `sla:` section defining "
                'the policy "gold"'
            ],
            id="rule policy without a section",
        ),
        pytest.param(
            policy("first_response: 1d4h"),
            [f"config.yaml:19:23: {P}.first_response: " + DAYS.format("1d4h")],
            id="days in a business-time target",
        ),
        pytest.param(
            policy("resolution: 8h", 'remind: ["1d before"]'),
            [f"config.yaml:20:16: {P}.remind[0]: " + DAYS.format("1d")],
            id="days in a business-time reminder",
        ),
        pytest.param(
            policy("resolution: 8h", "escalate:", "  - after: 2d", "    email: [a@b.example]"),
            [f"config.yaml:21:18: {P}.escalate[0].after: " + DAYS.format("2d")],
            id="days in a business-time escalation",
        ),
        pytest.param(
            policy("first_response: 0"),
            [f"config.yaml:19:23: {P}.first_response: must be longer than 0, got 0"],
            id="zero target",
        ),
        pytest.param(
            policy("time: business"),
            [
                f"config.yaml:18:7: {P}: give first_response, resolution or both: "
                "the times this policy promises"
            ],
            id="no target",
        ),
        pytest.param(
            policy("first_response: 1h", "time: weekdays"),
            [f'config.yaml:20:13: {P}.time: expected one of business, calendar, got "weekdays"'],
            id="time",
        ),
        pytest.param(
            policy("first_response: 1h", "wait_on: always"),
            [
                f"config.yaml:20:16: {P}.wait_on: expected one of question, reply, never, "
                'got "always"'
            ],
            id="wait_on",
        ),
        pytest.param(
            policy("first_response: 1h", "notify: {telegram: [nobody]}"),
            [f'config.yaml:20:27: {P}.notify.telegram[0]: "nobody" is no channel'],
            id="unknown telegram channel",
        ),
        pytest.param(
            policy("first_response: 1h", "notify: {telegram: [mail]}"),
            [f'config.yaml:20:27: {P}.notify.telegram[0]: "mail" is not a telegram channel'],
            id="not a telegram channel",
        ),
        pytest.param(
            policy(
                "first_response: 1h", "escalate:", "  - after: 1h", "    telegram: [lonely-bot]"
            ),
            [
                f"config.yaml:22:22: {P}.escalate[0].telegram[0]: telegram channel "
                '"lonely-bot" has no staff_chat_id: there is no group to tell'
            ],
            id="telegram channel without a staff group",
        ),
        pytest.param(
            policy("first_response: 1h", "notify: {email: [not-an-address]}"),
            [
                f"config.yaml:20:24: {P}.notify.email[0]: expected a plain email address "
                'like name@example.com, got "not-an-address"'
            ],
            id="bad address",
        ),
        pytest.param(
            policy("first_response: 1h", "escalate:", "  - after: 1h"),
            [
                f"config.yaml:21:11: {P}.escalate[0]: give email or telegram (or both): "
                "who should hear of it"
            ],
            id="escalation to nobody",
        ),
        pytest.param(
            policy("first_response: 1h", "notify: {}"),
            [
                f"config.yaml:20:15: {P}.notify: give email or telegram (or both): "
                "who should hear of it"
            ],
            id="notify nobody",
        ),
        pytest.param(
            policy("first_response: 1h", "escalate:", "  - after: 0s", "    email: [a@b.example]"),
            [f'config.yaml:21:18: {P}.escalate[0].after: must be longer than 0, got "0s"'],
            id="zero escalation",
        ),
        pytest.param(
            policy("first_response: 1h", 'remind: ["100%"]'),
            [
                f"config.yaml:20:16: {P}.remind[0]: a percentage must be more than 0% "
                'and less than 100%, got "100%"'
            ],
            id="percent too high",
        ),
        pytest.param(
            policy("first_response: 1h", "remind: [50]"),
            [
                f'config.yaml:20:16: {P}.remind[0]: expected a share of the target like "80%", '
                'or a time before it like "15m before", got 50'
            ],
            id="bare number reminder",
        ),
        pytest.param(
            policy("first_response: 1h", 'remind: ["soon before"]'),
            [
                f"config.yaml:20:16: {P}.remind[0]: expected a duration like 30s, 5m, 2h, 1d, "
                '1h30m or 0 before the target, got "soon before"'
            ],
            id="bad duration before",
        ),
        pytest.param(
            policy("first_response: 1h", "resolution: 8h", 'remind: ["2h before"]'),
            [
                f'config.yaml:21:16: {P}.remind[0]: "2h before" is not shorter than the '
                "first_response target (1h): a reminder must come before it"
            ],
            id="reminder not before the target",
        ),
        pytest.param(
            policy("first_response: 1h", 'remind: ["50%", "80%", "50.0%"]'),
            [f'config.yaml:20:30: {P}.remind[2]: "50%" is listed twice'],
            id="duplicate reminder",
        ),
        pytest.param(
            policy("resolution: 4h", 'remind: ["50%", "2h before"]'),
            [
                f'config.yaml:20:23: {P}.remind[1]: "2h before" falls at the same time as '
                '"50%" for the resolution target (4h)'
            ],
            id="reminders at one time",
        ),
    ],
)
def test_errors(text: str, expected: list[str], base_dir: Path) -> None:
    assert problems(text, base_dir) == expected


def test_email_notices_need_an_email_channel(base_dir: Path) -> None:
    text = """\
timezone: Asia/Jakarta
state_dir: state
channels:
  - name: bot
    type: telegram
    token_file: bot.token
    staff_chat_id: -1001234567890
sla:
  policies:
    - name: p
      first_response: 1h
      notify:
        telegram: [bot]
        email: [owner@shop.example]
"""
    with pytest.raises(ConfigError) as info:
        load_config_text(text, "config.yaml", base_dir, environ={})
    assert [str(p) for p in info.value.problems] == [
        "config.yaml:14:16: sla.policies[0].notify.email: email notices are sent through "
        "an email channel's SMTP server: add an email channel, or use telegram"
    ]
