"""Tests for the strict YAML loader and the config models: values, errors, secrets."""

from __future__ import annotations

import logging
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel, SecretStr, ValidationError

from responder.config import (
    Config,
    EmailChannelConfig,
    ImapConfig,
    SmtpConfig,
    TelegramChannelConfig,
    library_limits,
    load_config,
    load_config_text,
)
from responder.config.yamlload import load_yaml
from responder.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
SECRET = "Sup3r-S3cret-Value"

# Line numbers matter: the error tests below assert positions in this text.
BASE = """\
timezone: Asia/Jakarta
state_dir: state
channels:
  - name: support-mail
    type: email
    address: support@example.com
    imap:
      host: 127.0.0.1
      port: 1143
      security: none
      username: support@example.com
      password_file: imap.pw
    smtp:
      host: 127.0.0.1
      port: 1025
      security: none
"""

SECOND_CHANNEL = """\
  - name: support-mail
    type: email
    address: other@example.com
    imap: {host: h, port: 993, username: u, password_file: imap.pw}
    smtp: {host: h, port: 25}
"""


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    (tmp_path / "imap.pw").write_text(SECRET + "\n")
    return tmp_path


def load(text: str, base_dir: Path, environ: dict[str, str] | None = None) -> Config:
    return load_config_text(text, "config.yaml", base_dir, environ=environ or {})


def problems(text: str, base_dir: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text, base_dir, environ)
    return [str(p) for p in info.value.problems]


@pytest.mark.sqlite_only("the default database_url: SQLite's file in state_dir")
def test_the_documented_yaml_loads_as_written(tmp_path: Path) -> None:
    secret = tmp_path / "imap"
    secret.write_text("pw\n")
    text = f"""\
timezone: Asia/Jakarta
state_dir: /var/lib/responder          # the SQLite database lives here
channels:
  - name: support-mail
    type: email
    address: support@example.com       # our address: replies come from it, mail from it is ours
    imap: {{host: 127.0.0.1, port: 1143, security: none, username: support@example.com,
           password_file: {secret}, folder: INBOX}}
    smtp: {{host: 127.0.0.1, port: 1025, security: none}}
"""
    config = load(text, tmp_path)
    assert config.timezone == "Asia/Jakarta"
    assert config.zone.key == "Asia/Jakarta"
    assert config.state_dir == Path("/var/lib/responder")
    assert config.database_url_resolved == "sqlite+aiosqlite:////var/lib/responder/responder.db"
    assert (config.queue_size, config.log_level, config.templates_dir) == (1000, "info", None)
    assert config.guards.reply_cap.max_replies == 3
    assert config.guards.reply_cap.window == timedelta(hours=24)
    (channel,) = config.channels
    assert isinstance(channel, EmailChannelConfig)
    assert (channel.name, channel.address, channel.language) == (
        "support-mail",
        "support@example.com",
        "en",
    )
    imap, smtp = channel.imap, channel.smtp
    assert (imap.host, imap.port, imap.security, imap.folder, imap.idle) == (
        "127.0.0.1",
        1143,
        "none",
        "INBOX",
        True,
    )
    assert imap.password is not None and imap.password.get_secret_value() == "pw"
    assert imap.poll_interval == timedelta(seconds=60)
    assert imap.backfill == timedelta(0)
    assert (imap.timeout, imap.fetch_chunk) == (timedelta(seconds=30), 100)
    assert (smtp.port, smtp.security, smtp.username, smtp.password) == (1025, "none", None, None)
    assert smtp.envelope_from is None
    assert library_limits(config) == []


@pytest.mark.parametrize(
    ("scalar", "expected"),
    [
        ("9:30", "9:30"),
        ("08:00-12:00", "08:00-12:00"),
        ("1:30:00", "1:30:00"),
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("off", "off"),
        ("y", "y"),
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("010", 10),
        ("0x1F", 31),
        ("0o17", 15),
        ("-7", -7),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("2024-01-02", "2024-01-02"),
        ("1_000", "1_000"),
        ("0b11", "0b11"),
        ("<<", "<<"),
    ],
)
def test_scalars_follow_yaml_1_2_core(scalar: str, expected: object) -> None:
    data, _ = load_yaml(f"key: {scalar}\n", "t.yaml")
    assert data == {"key": expected}
    assert type(data["key"]) is type(expected)


def test_marks_locate_keys_and_values_with_parent_fallback() -> None:
    text = "channels:\n  - name: a\n    imap: {host: h, port: 993}\n"
    _, marks = load_yaml(text, "t.yaml")
    assert marks.value(("channels", 0, "imap", "port")) == (3, 27)
    assert marks.key(("channels", 0, "imap", "port")) == (3, 21)
    assert marks.value(("channels", 0, "imap", "folder")) == (3, 11)  # absent: the mapping
    assert marks.key(("channels", 0)) == (2, 5)
    assert marks.value(()) == (1, 1)


def test_duplicate_key_names_the_second_occurrence() -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml("a: 1\nb:\n  c: 2\n  d: 3\n  c: 4\n", "t.yaml")
    assert str(info.value) == 't.yaml:5:3: b.c: duplicate key "c" (first given on line 3)'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: [1\n", "t.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
        ("a: b: c\n", "t.yaml:1:5: invalid YAML: mapping values are not allowed here"),
        ("a: 1\n---\nb: 2\n", "t.yaml:2:1: invalid YAML: expected a single document"),
        ("a: !!int 9:30\n", "t.yaml:1:4: invalid YAML: invalid integer '9:30'"),
        ("a: *nowhere\n", "t.yaml:1:4: invalid YAML: found undefined alias 'nowhere'"),
    ],
)
def test_yaml_syntax_errors_are_located(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_yaml(text, "t.yaml")
    assert str(info.value).startswith(expected)


@pytest.mark.parametrize(
    ("given", "seconds"),
    [("30s", 30), ("5m", 300), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("0", 0), (90, 90)],
)
def test_durations(base_dir: Path, given: object, seconds: int) -> None:
    config = load(BASE.replace("port: 1143", f"port: 1143\n      backfill: {given}"), base_dir)
    assert config.channels[0].imap.backfill == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("-5m", 'must not be negative, got "-5m"'),
        ("-1", "must not be negative, got -1"),
        ("5x", 'expected a duration like 30s, 5m, 2h, 1d, 1h30m or 0, got "5x"'),
        ("1.5h", 'expected a duration like 30s, 5m, 2h, 1d, 1h30m or 0, got "1.5h"'),
        ("true", "expected a duration like 30s, 5m, 2h, 1d, 1h30m or 0, got true"),
    ],
)
def test_bad_durations(base_dir: Path, given: str, message: str) -> None:
    text = BASE.replace("port: 1143", f"port: 1143\n      backfill: {given}")
    assert problems(text, base_dir) == [f"config.yaml:10:17: channels[0].imap.backfill: {message}"]


# One case per kind of error: (what to replace in BASE, with what, the problems reported).
ERROR_CASES: list[tuple[str, str, str, list[str]]] = [
    (
        "type",
        "port: 1143",
        "port: 993x",
        ['config.yaml:9:13: channels[0].imap.port: expected an integer 1-65535, got "993x"'],
    ),
    (
        "range",
        "port: 1143",
        "port: 70000",
        ["config.yaml:9:13: channels[0].imap.port: expected an integer 1-65535, got 70000"],
    ),
    (
        "unknown key",
        "port: 1143",
        "prot: 1143",
        [
            'config.yaml:8:7: channels[0].imap: missing required key "port"',
            'config.yaml:9:7: channels[0].imap: unknown key "prot" (expected one of: host, '
            "port, security, username, auth, password_file, password_env, folder, idle, "
            "poll_interval, backfill, timeout, fetch_chunk, fetch_bytes, sent_folder, "
            "watch_answered, done_keyword, done_folder)",
        ],
    ),
    (
        "missing key",
        "      host: 127.0.0.1\n      port: 1143",
        "      port: 1143",
        ['config.yaml:8:7: channels[0].imap: missing required key "host"'],
    ),
    (
        "literal",
        "security: none\n      username",
        "security: ssl\n      username",
        [
            "config.yaml:10:17: channels[0].imap.security: "
            'expected one of tls, starttls, none, got "ssl"'
        ],
    ),
    (
        "bool",
        "port: 1143",
        "port: 1143\n      idle: yes",
        ['config.yaml:10:13: channels[0].imap.idle: expected true or false, got "yes"'],
    ),
    (
        "timezone",
        "Asia/Jakarta",
        "Asia/Jakrta",
        [
            'config.yaml:1:11: timezone: unknown timezone "Asia/Jakrta" '
            "(use a name like Asia/Jakarta or UTC)"
        ],
    ),
    (
        "duplicate channel name",
        "port: 1025\n      security: none\n",
        "port: 1025\n      security: none\n" + SECOND_CHANNEL,
        [
            'config.yaml:17:11: channels[1].name: duplicate channel name "support-mail" '
            "(also used by channels[0])"
        ],
    ),
    (
        "channel name",
        "name: support-mail",
        "name: Support Mail",
        [
            "config.yaml:4:11: channels[0].name: expected up to 40 lowercase letters, digits, "
            '- or _ (not starting with - or _), got "Support Mail"'
        ],
    ),
    (
        "address",
        "address: support@example.com",
        "address: support.example.com",
        [
            "config.yaml:6:14: channels[0].address: expected a plain email address like "
            'name@example.com, got "support.example.com"'
        ],
    ),
    (
        "unknown channel type",
        "type: email",
        "type: line",
        [
            "config.yaml:5:11: channels[0].type: expected one of email, telegram, whatsapp, "
            'webchat, got "line"'
        ],
    ),
    (
        "missing channel type",
        "    type: email\n",
        "",
        ['config.yaml:4:5: channels[0]: missing required key "type"'],
    ),
    (
        "no channels",
        "channels:\n",
        "channels: []\nunused:\n",
        [
            "config.yaml:3:11: channels: expected at least 1 entry, got none",
            'config.yaml:4:1: unknown key "unused" (expected one of: timezone, state_dir, '
            "database_url, database_password_file, database_password_env, templates_dir, "
            "queue_size, log_level, guards, delivery, business_hours, "
            "vip, rules, sla, csat, http, retention, tickets, cluster, "
            "channels)",
        ],
    ),
    (
        "text expected",
        "address: support@example.com",
        "address: support@example.com\n    display_name: 2024",
        ["config.yaml:7:19: channels[0].display_name: expected text, got 2024 (put it in quotes)"],
    ),
    (
        "missing password file",
        "password_file: imap.pw",
        "password_file: nope.pw",
        [
            "config.yaml:12:22: channels[0].imap.password_file: "
            "cannot read {base}/nope.pw: no such file; create it with the password on one "
            "line, or use password_env: NAME instead (an environment variable holding it)"
        ],
    ),
    (
        "unset env",
        "password_file: imap.pw",
        "password_env: RESPONDER_TEST_UNSET",
        [
            "config.yaml:12:21: channels[0].imap.password_env: "
            'environment variable "RESPONDER_TEST_UNSET" is not set; set it to the password '
            "where responder runs (Environment= in the systemd unit), or use password_file: "
            "PATH instead"
        ],
    ),
    (
        "no password source",
        "      password_file: imap.pw\n",
        "",
        [
            "config.yaml:8:7: channels[0].imap: "
            'missing required key "password_file" (or "password_env")'
        ],
    ),
    (
        "two password sources",
        "password_file: imap.pw",
        "password_file: imap.pw\n      password_env: RESPONDER_TEST_UNSET",
        [
            "config.yaml:13:21: channels[0].imap.password_env: "
            "give password_file or password_env, not both"
        ],
    ),
    (
        "smtp password without username",
        "      port: 1025",
        "      port: 1025\n      password_file: imap.pw",
        [
            "config.yaml:16:22: channels[0].smtp.password_file: "
            "a password needs a username: add one or remove this"
        ],
    ),
    (
        "inline password",
        "password_file: imap.pw",
        f"password: {SECRET}",
        [
            "config.yaml:12:17: channels[0].imap.password: "
            "secrets are never inline: use password_file or password_env"
        ],
    ),
    (
        "yaml syntax",
        "port: 1143",
        "port: [1143",
        [
            "config.yaml:10:15: invalid YAML: expected ',' or ']', but got ':' "
            "(while parsing a flow sequence on line 9)"
        ],
    ),
    (
        "duplicate key",
        "port: 1025",
        "port: 1025\n      host: localhost",
        ['config.yaml:16:7: channels[0].smtp.host: duplicate key "host" (first given on line 14)'],
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_kinds(base_dir: Path, old: str, new: str, expected: list[str]) -> None:
    assert old in BASE
    found = problems(BASE.replace(old, new, 1), base_dir)
    assert found == [line.replace("{base}", str(base_dir)) for line in expected]
    assert all(SECRET not in line for line in found)


def test_secrets_never_leak(base_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = load(BASE, base_dir)
    imap = config.channels[0].imap
    assert isinstance(imap.password, SecretStr)
    assert imap.password.get_secret_value() == SECRET
    logging.getLogger("test").warning("config %s %r", config, config)
    shown = [repr(config), str(config), config.model_dump_json(), str(config.model_dump())]
    assert '"password":"**********"' in config.model_dump_json()

    with pytest.raises(ConfigError) as info:
        load(BASE.replace("port: 1025", "port: 0"), base_dir)
    err = info.value
    assert err.__cause__ is None and err.__context__ is None  # no chained pydantic error
    shown += [str(err), repr(err), "".join(traceback.format_exception(err)), caplog.text]
    for text in shown:
        assert SECRET not in text


def test_inline_secret_is_not_echoed_anywhere(base_dir: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(BASE.replace("password_file: imap.pw", f"password: {SECRET}"), base_dir)
    assert SECRET not in "".join(traceback.format_exception(info.value))


@pytest.mark.sqlite_only("the default database_url: SQLite's file in state_dir")
def test_relative_paths_resolve_against_the_config_folder(
    base_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = base_dir / "config.yaml"
    path.write_text(BASE.replace("state_dir: state", "state_dir: state\ntemplates_dir: tpl"))
    monkeypatch.chdir(base_dir.parent)
    config = load_config(Path(base_dir.name) / "config.yaml", environ={})
    assert config.state_dir == base_dir / "state"
    assert config.templates_dir == base_dir / "tpl"
    assert config.channels[0].imap.password_file == base_dir / "imap.pw"
    assert config.database_url_resolved == f"sqlite+aiosqlite:///{base_dir}/state/responder.db"
    assert config.source.filename == str(Path(base_dir.name) / "config.yaml")


def test_password_env_and_file_newline(base_dir: Path) -> None:
    (base_dir / "smtp.pw").write_text("two words \n\n")
    text = BASE.replace("password_file: imap.pw", "password_env: IMAP_PW").replace(
        "port: 1025", "port: 1025\n      username: u\n      password_file: smtp.pw"
    )
    config = load(text, base_dir, {"IMAP_PW": "from-env"})
    channel = config.channels[0]
    assert channel.imap.password == SecretStr("from-env")
    assert channel.smtp.password == SecretStr("two words ")
    assert '"IMAP_PW" is empty; set it' in problems(text, base_dir, {"IMAP_PW": ""})[0]
    (base_dir / "smtp.pw").write_text("\n")
    assert problems(text, base_dir, {"IMAP_PW": "x"}) == [
        "config.yaml:17:22: channels[0].smtp.password_file: "
        f"password file {base_dir}/smtp.pw is empty; put the password in it, on one line, "
        "or use password_env: NAME instead (an environment variable holding it)"
    ]


def test_missing_or_empty_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert str(info.value) == f"{tmp_path}/nope.yaml: cannot read: No such file or directory"
    (tmp_path / "empty.yaml").write_text("# nothing yet\n")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the config file is empty"):
        load_config(tmp_path / "empty.yaml")


def test_models_are_frozen_and_source_is_not_compared(base_dir: Path) -> None:
    one = load(BASE, base_dir)
    two = load_config_text("\n\n" + BASE, "other.yaml", base_dir, environ={})
    assert one == two
    assert one.source.filename != two.source.filename
    with pytest.raises(ValidationError):
        one.queue_size = 5  # type: ignore[misc]


def test_models_built_in_code_read_secrets_from_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RESPONDER_TEST_PW", "pw")
    imap = ImapConfig(host="h", port=993, username="u", password_env="RESPONDER_TEST_PW")
    assert imap.password == SecretStr("pw")
    assert SmtpConfig(host="h", port=25).password is None


def test_library_limits_flag_imap_starttls(base_dir: Path) -> None:
    text = BASE.replace("security: none\n      username", "security: starttls\n      username")
    config = load(text, base_dir)  # loading succeeds: `check` and the daemon decide
    assert [str(p) for p in library_limits(config)] == [
        "config.yaml:10:17: channels[0].imap.security: aioimaplib cannot do STARTTLS for IMAP; "
        "use security: tls (port 993) or none on loopback"
    ]


# Filled in from password_file / token_file at load time; never keys in the file.
SECRETS = {"password", "token", "secret", "client_secret", "database_password"}
SECRETS |= {"access_token", "app_secret", "verify_token"}  # a whatsapp channel's


def _field_names(tp: Any) -> set[str]:
    """Every key a model accepts, its nested models' included (through tuples, unions)."""
    names = set().union(*map(_field_names, get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            names |= {info.alias or name} - SECRETS | _field_names(info.annotation)
    return names


def test_example_config_loads_and_mentions_every_key(tmp_path: Path) -> None:
    for name in ("imap", "smtp"):
        (tmp_path / name).write_text(f"{name}-secret\n")
    (tmp_path / "telegram").write_text("123456:ABCdefGHIjklMNOpqrSTUvwxYZ\n")
    text = EXAMPLE.read_text().replace("/run/credentials/responder.service/", f"{tmp_path}/")
    config = load_config_text(text, str(EXAMPLE), EXAMPLE.parent, environ={})
    channel, bot = config.channels
    assert isinstance(channel, EmailChannelConfig) and isinstance(bot, TelegramChannelConfig)
    assert bot.token == SecretStr("123456:ABCdefGHIjklMNOpqrSTUvwxYZ")
    assert bot.staff_chat_id == -1001234567890
    assert channel.address == "cs@toko-contoh.id"
    assert channel.imap.password == SecretStr("imap-secret")
    assert channel.smtp.password == SecretStr("smtp-secret")
    assert library_limits(config) == []
    example: dict[str, Any] = load_yaml(EXAMPLE.read_text(), "example")[0]
    assert (
        example["channels"][0]["imap"]["password_file"] == "/run/credentials/responder.service/imap"
    )
    missing = {name for name in _field_names(Config) if f"{name}:" not in EXAMPLE.read_text()}
    assert missing == set()


def test_delivery_defaults_retry_for_a_lifetime_not_a_count(base_dir: Path) -> None:
    delivery = load(BASE, base_dir).delivery
    assert delivery.lifetime == timedelta(days=2)
    assert delivery.ack_max_age == timedelta(hours=6)
    assert delivery.probe_interval == timedelta(seconds=30)
    assert delivery.max_attempts is None
    text = BASE + (
        "delivery: {retry_base: 1s, retry_cap: 5m, lifetime: 4d, ack_max_age: null,\n"
        "           probe_interval: 10s, max_attempts: 5}\n"
    )
    delivery = load(text, base_dir).delivery
    assert delivery.lifetime == timedelta(days=4) and delivery.ack_max_age is None
    assert delivery.probe_interval == timedelta(seconds=10) and delivery.max_attempts == 5


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "{retry_base: 1m, retry_cap: 30s}",
            "config.yaml:17:39: delivery.retry_cap: must be at least retry_base",
        ),
        (
            "{lifetime: 1h, ack_max_age: 2h}",
            "config.yaml:17:39: delivery.ack_max_age: "
            "at most lifetime: an older reply is given up on anyway",
        ),
        (
            "{lifetime: 0}",
            "config.yaml:17:22: delivery.lifetime: must be longer than 0, got 0",
        ),
        (
            "{probe_interval: soon}",
            "config.yaml:17:28: delivery.probe_interval: "
            'expected a duration like 30s, 5m, 2h, 1d, 1h30m or 0, got "soon"',
        ),
        (
            "{max_attempts: 0}",
            "config.yaml:17:26: delivery.max_attempts: expected an integer 1-10000, got 0",
        ),
        (
            "{lifetme: 3d}",
            'config.yaml:17:12: delivery: unknown key "lifetme" (expected one of: retry_base, '
            "retry_cap, lifetime, ack_max_age, probe_interval, max_attempts)",
        ),
    ],
)
def test_delivery_errors_are_located(base_dir: Path, given: str, expected: str) -> None:
    assert problems(BASE + f"delivery: {given}\n", base_dir) == [expected]
