"""Templates: sandboxed, strict, escaped, overridable, with a language fallback chain."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from responder.core.templates import Templates
from responder.errors import ConfigError


def context(name: str = "Budi", subject: str = "Pesanan") -> dict[str, object]:
    return {
        "ticket": {"ref": "ABC234"},
        "customer": {"name": name, "address": "budi@example.com"},
        "message": {"subject": subject, "excerpt": ""},
        "business": {"name": "Toko Contoh", "address": "support@toko-contoh.id"},
        "channel": {"name": "support-mail", "address": "support@toko-contoh.id"},
    }


def test_shipped_acknowledgements_render_in_both_languages() -> None:
    templates = Templates()
    indonesian = templates.render("acknowledgement", ["id"], context())
    english = templates.render("acknowledgement", ["en"], context())
    assert indonesian.language == "id" and "Nomor tiket Anda: ABC234" in indonesian.text
    assert english.language == "en" and "Your ticket reference is ABC234" in english.text
    assert english.subject == "Re: Pesanan [#ABC234]"
    assert templates.check(["acknowledgement"], context()) == []


def test_customer_text_is_data_never_template_source() -> None:
    rendered = Templates().render(
        "acknowledgement", ["en"], context(name="{{ 7 * 7 }}{% for x in ().__class__ %}")
    )
    assert "{{ 7 * 7 }}" in rendered.text and "49" not in rendered.text


def test_customer_text_is_escaped_in_html() -> None:
    rendered = Templates().render("acknowledgement", ["en"], context(name="<script>x</script>"))
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "<script>x</script>" in rendered.text


def test_subject_is_one_line_whatever_the_customer_wrote() -> None:
    rendered = Templates().render("acknowledgement", ["en"], context(subject="a\r\nBcc: x@y"))
    assert "\r" not in rendered.subject and "\n" not in rendered.subject


def admin_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_admin_templates_override_and_missing_languages_fall_back(tmp_path: Path) -> None:
    folder = admin_dir(tmp_path, {"id/acknowledgement.txt.j2": "Siap, {{ ticket.ref }}!"})
    templates = Templates(folder)
    assert templates.render("acknowledgement", ["id"], context()).text == "Siap, ABC234!"
    # A language nobody wrote falls back along the chain.
    assert templates.render("acknowledgement", ["fr", "en"], context()).language == "en"
    with pytest.raises(jinja2.TemplateNotFound):
        templates.render("nonexistent", ["id", "en"], context())


def test_sandbox_refuses_unsafe_attribute_access(tmp_path: Path) -> None:
    folder = admin_dir(tmp_path, {"en/acknowledgement.txt.j2": "{{ ''.__class__.__mro__ }}"})
    with pytest.raises(jinja2.exceptions.SecurityError):
        Templates(folder).render("acknowledgement", ["en"], context())


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hello {{ custmer.name }}", "'custmer' is undefined"),
        ("Hello {{ customer.name }", "unexpected '}'"),
        ("{% if x %}never closed", "Unexpected end of template"),
    ],
)
def test_check_finds_template_mistakes_with_file_and_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    folder = admin_dir(tmp_path, {"en/acknowledgement.txt.j2": "\n" + text})
    problems = Templates(folder).check(["acknowledgement"], context())
    assert len(problems) == 1
    assert expected in str(problems[0])
    assert str(problems[0]).startswith(f"{folder / 'en/acknowledgement.txt.j2'}:2: ")
    with pytest.raises(ConfigError):
        Templates(folder).require(["acknowledgement"], context())
