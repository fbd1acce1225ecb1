"""The `csat:` and `http:` config sections: defaults, and errors that name file:line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from responder.config import Config, load_config_text
from responder.domain.calendar import Period
from responder.errors import ConfigError

# The appended text starts on line 13.
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
"""


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    (tmp_path / "imap.pw").write_text("secret\n")
    (tmp_path / "bot.token").write_text("123456:ABCdefGHIjklMNOpqrSTUvwxYZ\n")
    (tmp_path / "link.key").write_text("a-long-random-signing-secret\n")
    return tmp_path


def load(text: str, base_dir: Path, environ: dict[str, str] | None = None) -> Config:
    return load_config_text(BASE + text, "config.yaml", base_dir, environ=environ or {})


def problems(text: str, base_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text, base_dir)
    return [str(p) for p in info.value.problems]


def test_absent_sections_mean_no_surveys_and_no_endpoint(base_dir: Path) -> None:
    config = load("", base_dir)
    assert config.csat is None and config.http is None


def test_defaults(base_dir: Path) -> None:
    config = load("csat: {}\nhttp: {}\n", base_dir)
    assert config.csat is not None and config.http is not None
    assert config.csat.after_resolved == timedelta(hours=1)
    assert config.csat.send_between == Period(9 * 60, 20 * 60)
    assert config.csat.once_per == timedelta(days=30)
    assert (config.csat.nps, config.csat.links, config.csat.low) == (False, False, 2)
    # Loopback unless the admin says otherwise; no secret: one is made and kept in the db.
    assert (config.http.host, config.http.port, config.http.secret) == ("127.0.0.1", 8080, None)


def test_a_full_section(base_dir: Path) -> None:
    config = load(
        """\
csat:
  after_resolved: 2h
  after_quiet: 3d
  send_between: "08:00-21:30"
  once_per: 14d
  answer_within: 7d
  nps: true
  low: 3
  notify: {email: [owner@example.com], telegram: [bot]}
  links: true
  channels: [mail]
http:
  host: 0.0.0.0
  port: 8443
  public_url: https://help.example.com/survey/
  secret_file: link.key
""",
        base_dir,
    )
    assert config.csat is not None and config.http is not None
    assert config.csat.send_between == Period(8 * 60, 21 * 60 + 30)
    assert config.csat.after_quiet == timedelta(days=3)
    assert config.http.public_url == "https://help.example.com/survey"
    assert config.http.secret is not None
    assert config.http.secret.get_secret_value() == "a-long-random-signing-secret"
    assert "a-long-random" not in repr(config.http)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "csat:\n  links: true\n",
            "csat.links: survey links need the http section with a public_url",
        ),
        (
            "csat:\n  links: true\nhttp: {port: 8080}\n",
            "csat.links: survey links need the http section",
        ),
        ("csat:\n  channels: [mail, shop]\n", 'csat.channels[1]: "shop" is no'),
        ("csat:\n  low: 5\n", "csat.low:"),
        ("csat:\n  send_between: evenings\n", "csat.send_between: expected a"),
        ("csat:\n  after_resolved: soon\n", "csat.after_resolved:"),
        ("csat:\n  notify: {telegram: [mail]}\n", 'csat.notify.telegram[0]: "mail" is not a tel'),
        ("http:\n  secret: hunter2\n", "secrets are never inline: use secret_file or secret_env"),
        ("http:\n  public_url: help.example.com\n", "http.public_url: expected"),
        ("http:\n  port: 70000\n", "http.port:"),
        ("http:\n  secret_env: LINK_KEY\n", 'environment variable "LINK_KEY" is not set'),
    ],
)
def test_errors_name_the_line_and_key(base_dir: Path, text: str, expected: str) -> None:
    found = problems(text, base_dir)
    assert any(p.startswith("config.yaml:14:") and expected in p for p in found), found
    assert not any("hunter2" in p for p in found)
