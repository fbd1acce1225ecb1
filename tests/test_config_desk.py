"""The `staff_desk` key: which Telegram staff group hears each channel's tickets."""

from __future__ import annotations

from pathlib import Path

import pytest

from responder.config import load_config_text
from responder.errors import ConfigError
from responder.services.settings import channel_profiles

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"
HTTP = "http: {port: 8080, public_url: https://bantuan.toko-contoh.id}\n"  # for a web chat


def mail(name: str, extra: str = "") -> str:
    return f"""\
  - name: {name}
    type: email
    address: {name}@example.com{extra}
    imap: {{host: h, port: 993, username: u, password_file: imap.pw}}
    smtp: {{host: h, port: 25}}
"""


def bot(name: str, staff: bool = True) -> str:
    group = "\n    staff_chat_id: -100123" if staff else ""
    return f"  - name: {name}\n    type: telegram\n    token_file: bot.token{group}\n"


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    (tmp_path / "imap.pw").write_text("secret\n")
    (tmp_path / "bot.token").write_text(TOKEN + "\n")
    return tmp_path


def desks(channels: str, base_dir: Path) -> dict[str, str | None]:
    text = "timezone: Asia/Jakarta\nstate_dir: state\nchannels:\n" + channels + HTTP
    config = load_config_text(text, "config.yaml", base_dir, environ={})
    return {name: p.desk for name, p in channel_profiles(config).items()}


def problems(channels: str, base_dir: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        desks(channels, base_dir)
    return [str(p) for p in info.value.problems]


def test_without_the_key_the_one_staff_group_is_the_desk(base_dir: Path) -> None:
    found = desks(mail("shop") + bot("shop-bot") + bot("quiet-bot", staff=False), base_dir)
    assert found == {"shop": "shop-bot", "shop-bot": "shop-bot", "quiet-bot": None}


def test_two_staff_groups_and_no_key_means_no_desk_for_mail(base_dir: Path) -> None:
    found = desks(mail("shop") + bot("a-bot") + bot("b-bot"), base_dir)
    assert found["shop"] is None


def test_the_key_names_the_desk_or_none(base_dir: Path) -> None:
    channels = (
        mail("shop", "\n    staff_desk: b-bot")
        + mail("other", "\n    staff_desk: none")
        + bot("a-bot")
        + bot("b-bot")
    )
    found = desks(channels, base_dir)
    assert found["shop"] == "b-bot" and found["other"] is None


@pytest.mark.parametrize(
    ("desk", "what"),
    [
        ("nobody", "no channel"),
        ("quiet-bot", "not a telegram channel with a staff_chat_id"),
        ("shop", "not a telegram channel with a staff_chat_id"),
    ],
)
def test_a_desk_that_is_no_staff_group_is_an_error_at_its_key(
    desk: str, what: str, base_dir: Path
) -> None:
    channels = mail("shop", f"\n    staff_desk: {desk}") + bot("quiet-bot", staff=False)
    assert problems(channels, base_dir) == [
        f'config.yaml:7:17: channels[0].staff_desk: "{desk}" is {what}: name one that has a '
        "staff group, or write none"
    ]


def web(desk: str) -> str:
    return f"""\
  - name: web
    type: webchat
    allowed_origins: ["https://toko-contoh.id"]
    title: Toko Contoh
    staff_desk: {desk}
"""


def test_a_web_chat_may_name_a_mailbox_with_staff_as_its_desk(base_dir: Path) -> None:
    staff = "\n    staff: [ani@example.com]"
    found = desks(web("shop") + mail("shop", staff) + bot("shop-bot"), base_dir)
    assert found == {"web": "shop", "shop": "shop-bot", "shop-bot": "shop-bot"}


def test_a_desk_mailbox_without_staff_is_refused_with_the_fix(base_dir: Path) -> None:
    assert problems(web("shop") + mail("shop"), base_dir) == [
        'config.yaml:8:17: channels[0].staff_desk: "shop" has no staff addresses to mail '
        "visitors' messages to: add them to that channel (staff: [ani@example.com]), or name "
        "a telegram channel with a staff_chat_id, or write none"
    ]


def test_only_a_web_chat_takes_a_mailbox_as_its_desk(base_dir: Path) -> None:
    staff = "\n    staff: [ani@example.com]"
    channels = mail("shop", staff) + mail("other", "\n    staff_desk: shop")
    assert problems(channels, base_dir) == [
        'config.yaml:13:17: channels[1].staff_desk: "shop" is not a telegram channel with a '
        "staff_chat_id: name one that has a staff group, or write none"
    ]
