"""The `type: webchat` channel section: what loads, and each refusal at file:line and key."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from responder.cli import EX_CONFIG, EX_OK, main
from responder.config import Config, WebChatChannelConfig, load_config_text
from responder.errors import ConfigError

# Line numbers matter: the error tests below assert positions in this text.
BASE = """\
state_dir: state
http: {host: 127.0.0.1, port: 8080, public_url: https://bantuan.toko-contoh.id}
channels:
  - name: web
    type: webchat
    allowed_origins: ["https://toko-contoh.id", "https://www.toko-contoh.id"]
    title: Toko Contoh
    language: id
"""


def load(text: str) -> Config:
    return load_config_text(text, "config.yaml", Path("/nonexistent"), environ={"PW": "x"})


def webchat(config: Config) -> WebChatChannelConfig:
    (channel,) = [c for c in config.channels if isinstance(c, WebChatChannelConfig)]
    return channel


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text)
    return [str(p) for p in info.value.problems]


def test_the_section_as_the_issue_gives_it_loads_with_its_defaults() -> None:
    channel = webchat(load(BASE))
    assert (channel.name, channel.title, channel.language) == ("web", "Toko Contoh", "id")
    assert channel.allowed_origins == ("https://toko-contoh.id", "https://www.toko-contoh.id")
    assert channel.path == "/chat/web" and channel.display_name == "Toko Contoh"
    assert channel.token_lifetime == timedelta(days=30)
    assert channel.max_message == 8 * 1024 and channel.keepalive == timedelta(seconds=15)
    assert channel.limits.visitor_per_minute == 12 and channel.limits.address_per_minute == 120
    assert channel.staff_desk is None


def test_origins_are_kept_as_browsers_send_them() -> None:
    text = BASE.replace(
        '["https://toko-contoh.id", "https://www.toko-contoh.id"]',
        '["HTTPS://Toko-Contoh.id:443", "http://localhost:8000", "http://[::1]:80"]',
    )
    assert webchat(load(text)).allowed_origins == (
        "https://toko-contoh.id",
        "http://localhost:8000",
        "http://[::1]",
    )


@pytest.mark.parametrize(
    "origin",
    [
        "https://toko-contoh.id/",
        "https://toko-contoh.id/shop",
        "toko-contoh.id",
        "*",
        "https://toko-contoh.id:99999",
        "ftp://toko-contoh.id",
    ],
)
def test_an_origin_that_is_not_scheme_host_port_is_refused_at_its_line(origin: str) -> None:
    text = BASE.replace('"https://www.toko-contoh.id"]', f'"{origin}"]')
    [problem] = problems(text)
    assert problem.startswith("config.yaml:6:")
    assert "channels[0].allowed_origins[1]" in problem
    assert f'"{origin}" is not an origin: write scheme://host[:port]' in problem


def test_no_origins_is_refused() -> None:
    text = BASE.replace('["https://toko-contoh.id", "https://www.toko-contoh.id"]', "[]")
    [problem] = problems(text)
    assert problem.startswith("config.yaml:6:") and "allowed_origins" in problem


def test_a_web_chat_without_a_public_url_is_refused_at_the_channel() -> None:
    no_url = BASE.replace(", public_url: https://bantuan.toko-contoh.id", "")
    [problem] = problems(no_url)
    assert problem.startswith("config.yaml:4:") and "channels[0]" in problem
    assert "add public_url to the http section" in problem
    assert "<public_url>/chat/web/widget.js" in problem
    [problem] = problems(BASE.replace(BASE.splitlines()[1] + "\n", "", 1))
    assert "add an http section with public_url" in problem


def test_limits_and_sizes_are_checked() -> None:
    text = BASE + "    max_message: 1MB\n    keepalive: 90s\n"
    found = problems(text)
    assert any("config.yaml:9:" in p and "max_message" in p for p in found), found
    assert any("config.yaml:10:" in p and "at most 55s" in p for p in found), found
    found = problems(BASE + "    limits: {visitor_per_minute: 0}\n")
    assert any("limits.visitor_per_minute" in p for p in found), found


def test_the_examples_commented_out_chat_loads_once_uncommented() -> None:
    example = (Path(__file__).resolve().parent.parent / "config.example.yaml").read_text()
    start = example.index("  # - name: web\n")
    end = example.index("  # A WhatsApp business number")
    block = [re.sub(r"^  # ?", "  ", line) for line in example[start:end].splitlines()]
    text = example[:start] + "\n".join(block) + "\n"
    config = load_config_text(text, "example.yaml", Path("/nonexistent"), secrets="skip")
    channel = webchat(config)
    assert (channel.name, channel.title, channel.staff_desk) == ("web", "Toko Contoh", "shop-bot")
    assert channel.email_channel == "cs-email"
    assert channel.allowed_origins == ("https://toko-contoh.id", "https://www.toko-contoh.id")
    assert "https://bantuan.toko-contoh.id/chat/web/widget.js" in example


def test_check_validates_the_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(BASE.replace("state_dir: state", f"state_dir: {tmp_path}"))
    assert main(["check", "-c", str(path)]) == EX_OK
    assert "OK (1 channel(s); database: SQLite" in capsys.readouterr().out
    text = path.read_text().replace('"https://www.toko-contoh.id"', '"www.toko-contoh.id"')
    path.write_text(text)
    assert main(["check", "-c", str(path)]) == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{path}:6:" in err and '"www.toko-contoh.id" is not an origin' in err


MAILBOX = """\
  - name: mail
    type: email
    address: support@toko-contoh.id
    imap: {host: 127.0.0.1, port: 993, username: support@toko-contoh.id, password_env: PW}
    smtp: {host: 127.0.0.1, port: 465}
"""


def test_the_offline_form_answers_by_the_one_mailbox_unless_told_otherwise() -> None:
    from responder.services.settings import channel_profiles

    profiles = channel_profiles(load(BASE + MAILBOX))
    assert profiles["web"].by_email == "mail" and profiles["mail"].by_email is None
    assert webchat(load(BASE)).ask_email_after == timedelta(minutes=5)
    assert channel_profiles(load(BASE))["web"].by_email is None  # no mailbox: no form
    off = BASE.replace("    language: id\n", "    language: id\n    email_channel: none\n")
    assert channel_profiles(load(off + MAILBOX))["web"].by_email is None


@pytest.mark.parametrize(
    ("name", "what"),
    [("gudang", "is no channel"), ("web", "is not an email channel")],
)
def test_an_email_channel_that_is_not_one_is_refused_at_its_key(name: str, what: str) -> None:
    text = BASE.replace("    language: id\n", f"    language: id\n    email_channel: {name}\n")
    [problem] = problems(text + MAILBOX)
    assert problem.startswith("config.yaml:9:20: channels[0].email_channel:")
    assert f'"{name}" {what}' in problem and "or write none" in problem
