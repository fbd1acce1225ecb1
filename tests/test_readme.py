"""The README as an admin follows it: the recipes in "Connect your mailbox" are valid configs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from responder.config import EmailChannelConfig, load_config_text
from responder.config.webchat import WebChatChannelConfig

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str, level: str = "###") -> str:
    match = re.search(rf"(?ms)^{level} {re.escape(title)}\n(.*?)(?=^##)", README)
    assert match is not None, f"README has no section {title!r}"
    return match.group(1)


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"(?ms)^```{language}\n(.*?)^```", text)


@pytest.mark.parametrize(
    ("title", "provider", "auth"),
    [
        ("Gmail", "gmail", "password"),
        ("Google Workspace", "google-workspace", "oauth2"),
        ("Microsoft 365", "microsoft365", "oauth2"),
        ("cPanel hosting", "cpanel", "password"),
        ("Any other mail server", "generic", "password"),
    ],
)
def test_each_provider_recipe_is_a_valid_config_ending_with_a_connection_check(
    title: str, provider: str, auth: str, tmp_path: Path
) -> None:
    text = section(title)
    (config_text,) = blocks(text, "yaml")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for name in ("imap", "smtp", "google-client"):
        (secrets / name).write_text("s3cret\n")
    config_text = config_text.replace("/run/credentials/responder.service/", f"{secrets}/")
    config_text = config_text.replace("/etc/responder/", f"{secrets}/")
    config = load_config_text(
        f"state_dir: {tmp_path}/state\n{config_text}", "README.md", tmp_path, environ={}
    )
    (channel,) = config.channels
    assert isinstance(channel, EmailChannelConfig)
    assert channel.provider == provider
    assert channel.imap.auth == channel.smtp.auth == auth
    commands = blocks(text, "sh")
    assert commands[-1].strip() == "responder check --connect -c /etc/responder/config.yaml"
    if auth == "oauth2":
        assert "responder login -c /etc/responder/config.yaml support\n" in commands


def test_the_readme_is_for_the_admin_first() -> None:
    headings = re.findall(r"(?m)^## (.*)$", README)
    first = [
        "Connect your mailbox",
        "Connect Telegram",
        "Connect WhatsApp",
        "Connect your website (chat widget)",
        "Run it as a service",
        "Everyday use",
    ]
    assert headings[: len(first)] == first
    assert not {"Exactly once", "Benchmark", "Development"} & set(headings)
    opening = blocks(README.split("## ", 1)[0], "sh")[0].splitlines()
    assert [line.split()[:2] for line in opening] == [
        ["scripts/dev", "demo"],
        ["scripts/dev", "test"],
    ]


def test_no_command_an_admin_copies_has_a_placeholder() -> None:
    for command in blocks(README, "sh") + blocks(README, "bash"):
        assert not re.search(r"REPOSITORY-URL|<[A-Z_]+>|YOUR[-_]", command), command


def test_every_readme_section_a_message_points_to_exists() -> None:
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"(?m)^#+ (.*)$", README)
    }
    cited = {
        anchor
        for path in (ROOT / "responder").rglob("*.py")
        for anchor in re.findall(r"README#([\w-]+)", path.read_text(encoding="utf-8"))
    }
    assert cited and cited <= anchors, cited - anchors


def test_the_website_chat_recipe_is_a_valid_config_and_its_line_loads_that_channel(
    tmp_path: Path,
) -> None:
    text = section("Connect your website (chat widget)", "##")
    fenced = r"(?ms)^ *```{}\n(.*?)^ *```"
    [config_text] = re.findall(fenced.format("yaml"), text)
    config_text = textwrap.dedent(config_text)
    config = load_config_text(
        f"state_dir: {tmp_path}/state\n{config_text}", "README.md", tmp_path, environ={}
    )
    [channel] = config.channels
    assert isinstance(channel, WebChatChannelConfig)
    [line] = re.findall(fenced.format("html"), text)
    assert config.http is not None
    expected = f'<script src="{config.http.public_url}/chat/{channel.name}/widget.js" async>'
    assert line.strip() == expected + "</script>"
