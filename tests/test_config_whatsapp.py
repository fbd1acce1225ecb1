"""The `type: whatsapp` channel section: what loads, and each refusal at file:line and key."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from responder.config import (
    Config,
    WhatsAppChannelConfig,
    WhatsAppTemplate,
    load_config_text,
)
from responder.domain.window import ApprovedTemplate
from responder.errors import ConfigError

TOKEN = "EAAGm0PX4ZCpsBAKZCZDexampleToken123"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY = "kopi-susu-2026"
SECRETS = (TOKEN, APP_SECRET, VERIFY)

# Line numbers matter: the error tests below assert positions in this text.
BASE = """\
state_dir: state
http: {host: 127.0.0.1, port: 8080, public_url: https://bantuan.toko-contoh.id}
channels:
  - name: shop-wa
    type: whatsapp
    phone_number_id: "106540352242922"
    access_token_file: wa.token
    app_secret_file: wa.secret
    verify_token_file: wa.verify
"""
HTTP = "http: {host: 127.0.0.1, port: 8080, public_url: https://bantuan.toko-contoh.id}"


@pytest.fixture
def base_dir(tmp_path: Path) -> Path:
    for name, value in (("wa.token", TOKEN), ("wa.secret", APP_SECRET), ("wa.verify", VERIFY)):
        (tmp_path / name).write_text(value + "\n")
    return tmp_path


def load(text: str, base_dir: Path, environ: dict[str, str] | None = None) -> Config:
    return load_config_text(text, "config.yaml", base_dir, environ=environ or {})


def whatsapp(config: Config) -> WhatsAppChannelConfig:
    (channel,) = [c for c in config.channels if isinstance(c, WhatsAppChannelConfig)]
    return channel


def problems(text: str, base_dir: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(text, base_dir, environ)
    shown = [str(p) for p in info.value.problems]
    for secret in (*SECRETS, *(environ or {}).values()):
        assert all(secret not in line for line in shown), shown
    return shown


def test_the_section_as_the_issue_gives_it_loads_with_its_defaults(base_dir: Path) -> None:
    text = f"""\
state_dir: state
{HTTP}
channels:
  - name: shop-wa
    type: whatsapp
    phone_number_id: "106540352242922"
    access_token_file: {base_dir}/wa.token
    app_secret_file: {base_dir}/wa.secret
    verify_token_file: {base_dir}/wa.verify
    api_url: https://graph.facebook.com/v23.0   # tests point this at a stand-in
    language: id
"""
    channel = whatsapp(load(text, Path("/nonexistent")))
    assert (channel.name, channel.phone_number_id, channel.language) == (
        "shop-wa",
        "106540352242922",
        "id",
    )
    assert channel.access_token is not None and channel.access_token.get_secret_value() == TOKEN
    assert channel.app_secret is not None and channel.app_secret.get_secret_value() == APP_SECRET
    assert channel.verify_token is not None
    assert channel.verify_token.get_secret_value() == VERIFY
    assert TOKEN not in repr(channel) and APP_SECRET not in repr(channel)
    assert channel.messages_url == "https://graph.facebook.com/v23.0/106540352242922/messages"
    assert channel.webhook_path == "/webhooks/whatsapp/shop-wa"
    assert (channel.display_name, channel.staff_desk, channel.templates) == (None, None, {})
    assert (channel.timeout, channel.max_body) == (timedelta(seconds=15), 1024 * 1024)


def test_secrets_from_environment_variables_and_every_optional_key(base_dir: Path) -> None:
    text = """\
state_dir: state
http: {public_url: https://bantuan.toko-contoh.id/}
channels:
  - name: shop-wa
    type: whatsapp
    phone_number_id: 106540352242922
    access_token_env: WA_TOKEN
    app_secret_env: WA_APP_SECRET
    verify_token_env: WA_VERIFY
    api_url: http://127.0.0.1:8099/v23.0/
    display_name: Toko Contoh
    timeout: 5s
    max_body: 64KB
    templates:
      csat_survey: {name: toko_survey_v1, language: id}
      acknowledgement: {name: toko_ack, language: en_US}
"""
    environ = {"WA_TOKEN": TOKEN, "WA_APP_SECRET": APP_SECRET, "WA_VERIFY": VERIFY}
    channel = whatsapp(load(text, base_dir, environ))
    # YAML reads the unquoted ID as a number; it stays the digits Meta gave.
    assert channel.phone_number_id == "106540352242922"
    assert channel.access_token is not None and channel.access_token.get_secret_value() == TOKEN
    assert channel.app_secret is not None and channel.app_secret.get_secret_value() == APP_SECRET
    assert channel.verify_token is not None
    assert channel.verify_token.get_secret_value() == VERIFY
    assert channel.api_url == "http://127.0.0.1:8099/v23.0"
    assert channel.messages_url == "http://127.0.0.1:8099/v23.0/106540352242922/messages"
    assert (channel.display_name, channel.timeout, channel.max_body) == (
        "Toko Contoh",
        timedelta(seconds=5),
        64 * 1024,
    )
    assert channel.templates == {
        "csat_survey": WhatsAppTemplate(name="toko_survey_v1", language="id"),
        "acknowledgement": WhatsAppTemplate(name="toko_ack", language="en_US"),
    }


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    access_token_file: wa.token\n",
            "",
            'config.yaml:4:5: channels[0]: missing required key "access_token_file" '
            '(or "access_token_env")',
        ),
        (
            "    app_secret_file: wa.secret\n",
            "",
            'config.yaml:4:5: channels[0]: missing required key "app_secret_file" '
            '(or "app_secret_env")',
        ),
        (
            "    verify_token_file: wa.verify\n",
            "",
            'config.yaml:4:5: channels[0]: missing required key "verify_token_file" '
            '(or "verify_token_env")',
        ),
        (
            "access_token_file: wa.token",
            f"access_token: {TOKEN}",
            "config.yaml:7:19: channels[0].access_token: secrets are never inline: use "
            "access_token_file or access_token_env",
        ),
        (
            "app_secret_file: wa.secret",
            f"app_secret: {APP_SECRET}",
            "config.yaml:8:17: channels[0].app_secret: secrets are never inline: use "
            "app_secret_file or app_secret_env",
        ),
        (
            "verify_token_file: wa.verify",
            f"verify_token: {VERIFY}",
            "config.yaml:9:19: channels[0].verify_token: secrets are never inline: use "
            "verify_token_file or verify_token_env",
        ),
        (
            '"106540352242922"',
            '"+6281234567890"',
            "config.yaml:6:22: channels[0].phone_number_id: expected the phone number ID from "
            'WhatsApp Manager > API Setup (6-20 digits, like "106540352242922"), not the phone '
            'number itself, got "+6281234567890"',
        ),
        (
            '"106540352242922"',
            "10654035224-2922",
            "config.yaml:6:22: channels[0].phone_number_id: expected the phone number ID from "
            'WhatsApp Manager > API Setup (6-20 digits, like "106540352242922"), not the phone '
            'number itself, got "10654035224-2922"',
        ),
        (
            "wa.verify\n",
            "wa.verify\n    api_url: graph.facebook.com/v23.0\n",
            "config.yaml:10:14: channels[0].api_url: expected an http:// or https:// URL",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    max_body: 32MB\n",
            "config.yaml:10:15: channels[0].max_body: expected an integer 16384-16777216, "
            "got 33554432",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: {name: Toko-Survey, language: id}}\n",
            "config.yaml:10:37: channels[0].templates.csat_survey.name: expected a template "
            'name as Meta shows it (a-z, 0-9, _), got "Toko-Survey"',
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: {name: toko_v1, language: Indonesian}}\n",
            "config.yaml:10:56: channels[0].templates.csat_survey.language: expected a language "
            'code as Meta shows it: id, en, en_US, got "Indonesian"',
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {Survey: {name: toko_survey_v1, language: id}}\n",
            'config.yaml:10:25: channels[0].templates.Survey: "Survey" is not one of our '
            "template names (lowercase letters, digits, - or _, like csat_survey)",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_surve: toko_survey_v1}\n",
            'config.yaml:10:29: channels[0].templates.csat_surve: "csat_surve" is not a message '
            "responder sends a customer on its own: expected one of acknowledgement, auto_closed, "
            "csat_survey, out_of_hours, welcome",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: Toko-Survey}\n",
            "config.yaml:10:30: channels[0].templates.csat_survey: expected a template name as "
            'Meta shows it (a-z, 0-9, _), got "Toko-Survey"',
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: 5}\n",
            "config.yaml:10:30: channels[0].templates.csat_survey: expected a template name, or "
            "a mapping with its name and language, got 5",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: {name: t1, languages: {Indonesian: id}}}\n",
            "config.yaml:10:65: channels[0].templates.csat_survey.languages.Indonesian: "
            '"Indonesian" is not a customer language as templates name it (id, en)',
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: {name: t1, parameters: [customer_name, "
            "order]}}\n",
            "config.yaml:10:69: channels[0].templates.csat_survey.parameters[1]: expected one "
            "of 'customer_name' or 'ref', got \"order\"",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: {name: t1, rating_buttons: [1, 3, 6]}}\n",
            "config.yaml:10:64: channels[0].templates.csat_survey.rating_buttons[2]: a rating "
            "is 1-5, got 6",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {csat_survey: {name: t1, rating_buttons: [5, 5]}}\n",
            "config.yaml:10:57: channels[0].templates.csat_survey.rating_buttons: two buttons "
            "give the same rating: each rating once",
        ),
        (
            "wa.verify\n",
            "wa.verify\n    templates: {acknowledgement: {name: t1, rating_buttons: [1, 5]}}\n",
            "config.yaml:10:61: channels[0].templates.acknowledgement.rating_buttons: only "
            "csat_survey's template answers a survey with its buttons",
        ),
    ],
    ids=[
        "no-access-token",
        "no-app-secret",
        "no-verify-token",
        "inline-access-token",
        "inline-app-secret",
        "inline-verify-token",
        "phone-number-not-id",
        "id-not-digits",
        "api-url",
        "max-body",
        "template-name",
        "template-language",
        "template-kind",
        "template-for-nothing-we-send",
        "template-shorthand-name",
        "template-neither-name-nor-mapping",
        "template-customer-language",
        "template-parameter",
        "template-rating-range",
        "template-rating-twice",
        "template-buttons-not-a-survey",
    ],
)
def test_a_wrong_key_is_refused_at_its_line(
    old: str, new: str, expected: str, base_dir: Path
) -> None:
    assert old in BASE
    assert problems(BASE.replace(old, new), base_dir) == [expected]


@pytest.mark.parametrize(
    ("http", "fix"),
    [
        ("# no http section", "add an http section with public_url"),
        ("http: {host: 127.0.0.1, port: 8080}", "add public_url to the http section"),
    ],
    ids=["no-http", "no-public-url"],
)
def test_the_webhook_needs_the_http_endpoint_at_a_public_address(
    http: str, fix: str, base_dir: Path
) -> None:
    assert problems(BASE.replace(HTTP, http), base_dir) == [
        "config.yaml:4:5: channels[0]: Meta delivers WhatsApp messages to a webhook on the "
        f"daemon's HTTP endpoint: {fix} (the https:// address Meta reaches us at, through your "
        "proxy), and set the Callback URL in the Meta app dashboard to "
        "<public_url>/webhooks/whatsapp/shop-wa"
    ]


def test_a_secret_of_the_wrong_shape_is_refused_without_showing_it(base_dir: Path) -> None:
    wrong = "EAAG this token has spaces"
    (base_dir / "wa.token").write_text(wrong + "\n")
    shown = problems(BASE, base_dir)
    assert shown == [
        "config.yaml:7:24: channels[0].access_token_file: this is not an access token as Meta "
        "gives it (one line of at least 20 characters, no spaces: a system user's token from "
        "Meta Business Settings)"
    ]
    assert wrong not in shown[0]
    (base_dir / "wa.token").write_text(TOKEN + "\n")
    text = BASE.replace("app_secret_file: wa.secret", "app_secret_env: WA_APP_SECRET")
    shown = problems(text, base_dir, {"WA_APP_SECRET": "abc123"})
    assert shown == [
        "config.yaml:8:21: channels[0].app_secret_env: this is not an app secret as Meta gives "
        "it (the App Secret under App settings > Basic in the Meta app dashboard: 32 "
        "hexadecimal characters)"
    ]
    text = BASE.replace("verify_token_file: wa.verify", "verify_token_env: WA_VERIFY")
    assert problems(text, base_dir, {"WA_VERIFY": "kopi"}) == [
        "config.yaml:9:23: channels[0].verify_token_env: the verify token must be one line of "
        "at least 8 characters (a random text you also type into the webhook's Verify token in "
        "the Meta app dashboard)"
    ]


def test_check_warns_of_unread_secret_files_saying_what_goes_in_them(base_dir: Path) -> None:
    for name in ("wa.token", "wa.secret", "wa.verify"):
        (base_dir / name).unlink()
    config = load_config_text(BASE, "config.yaml", base_dir, environ={}, secrets="warn")
    assert whatsapp(config).access_token is None
    shown = [str(w) for w in config.warnings]
    assert [line.split(": cannot read ")[0] for line in shown] == [
        "config.yaml:7:24: channels[0].access_token_file",
        "config.yaml:8:22: channels[0].app_secret_file",
        "config.yaml:9:24: channels[0].verify_token_file",
    ]
    assert "create it with the access token Meta gave you" in shown[0]
    assert "create it with the App Secret from the Meta app's App settings > Basic" in shown[1]
    assert "or use verify_token_env: NAME instead" in shown[2]
    with pytest.raises(ConfigError) as info:
        load(BASE, base_dir)  # run's strictness: the first one is an error
    assert [str(p) for p in info.value.problems] == shown[:1]


def test_the_type_names_whatsapp_among_the_channel_kinds(base_dir: Path) -> None:
    assert problems(BASE.replace("type: whatsapp", "type: whatsap"), base_dir) == [
        "config.yaml:5:11: channels[0].type: expected one of email, telegram, whatsapp, webchat, "
        'got "whatsap"'
    ]


def test_staff_desk_names_a_telegram_staff_group_as_on_email_channels(base_dir: Path) -> None:
    (base_dir / "bot.token").write_text("123456:ABCdefGHIjklMNOpqrSTUvwxYZ\n")
    bot = "  - name: shop-bot\n    type: telegram\n    token_file: bot.token\n"
    desk = "\n    staff_desk: shop-bot"
    text = BASE.replace("wa.verify", "wa.verify" + desk) + bot + "    staff_chat_id: -100123\n"
    assert whatsapp(load(text, base_dir)).staff_desk == "shop-bot"
    assert problems(BASE.replace("wa.verify", "wa.verify" + desk) + bot, base_dir) == [
        'config.yaml:10:17: channels[0].staff_desk: "shop-bot" is not a telegram channel with '
        "a staff_chat_id: name one that has a staff group, or write none"
    ]


def test_the_examples_commented_out_channel_loads_once_uncommented(base_dir: Path) -> None:
    example = (Path(__file__).resolve().parent.parent / "config.example.yaml").read_text()
    start = example.index("  # - name: shop-wa")
    block = [re.sub(r"^  # ?", "  ", line) for line in example[start:].splitlines()]
    text = example[:start] + "\n".join(block) + "\n"
    for name, source in (
        ("whatsapp-token", "wa.token"),
        ("whatsapp-app-secret", "wa.secret"),
        ("whatsapp-verify", "wa.verify"),
    ):
        (base_dir / name).write_text((base_dir / source).read_text())
    for name in ("imap", "smtp"):
        (base_dir / name).write_text("x\n")
    (base_dir / "telegram").write_text("123456:ABCdefGHIjklMNOpqrSTUvwxYZ\n")
    text = text.replace("/run/credentials/responder.service/", f"{base_dir}/")
    channel = whatsapp(load(text, base_dir))
    assert (channel.name, channel.phone_number_id, channel.staff_desk) == (
        "shop-wa",
        "106540352242922",
        "shop-bot",
    )
    assert channel.templates["csat_survey"] == WhatsAppTemplate(
        name="toko_survey_v1",
        languages={"id": "id", "en": "en_US"},
        parameters=("customer_name", "ref"),
        rating_buttons=(1, 2, 3, 4, 5),
    )
    assert "https://bantuan.toko-contoh.id" + channel.webhook_path in example


def test_templates_by_name_alone_by_language_or_per_customer_language(base_dir: Path) -> None:
    text = BASE.replace("wa.verify\n", "wa.verify\n    language: id\n") + (
        "    templates:\n"
        "      acknowledgement: toko_ack\n"
        "      out_of_hours: {name: toko_closed, language: en_US}\n"
        "      csat_survey:\n"
        "        name: toko_survey_v1\n"
        "        languages: {en: en_US}\n"
        "        parameters: [customer_name, ref]\n"
        "        rating_buttons: [1, 2, 3, 4, 5]\n"
    )
    config = load(text, base_dir)
    assert config.warnings == ()  # templates are used now: nothing to warn of
    approved = whatsapp(config).approved_templates()
    # The name alone: in the channel's language.
    assert approved["acknowledgement"] == ApprovedTemplate("toko_ack", "id")
    assert approved["out_of_hours"].code("id") == "en_US"
    survey = approved["csat_survey"]
    assert (survey.code("en"), survey.code("id"), survey.code("ms")) == ("en_US", "id", "id")
    assert (survey.parameters, survey.ratings) == (("customer_name", "ref"), (1, 2, 3, 4, 5))


def test_a_template_for_a_rules_own_answer_is_accepted(base_dir: Path) -> None:
    rules = (
        "rules:\n  - name: payment\n    when: {text_contains: [transfer]}\n"
        "    then: {template: payment}\n  - name: default\n    then: {template: auto}\n"
    )
    text = rules + BASE + "    templates: {payment: toko_payment_info}\n"
    assert whatsapp(load(text, base_dir)).templates["payment"].name == "toko_payment_info"
