"""Sandboxed Jinja2 rendering of reply templates, per language with a fallback chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from responder.common.text import sanitize_header_text
from responder.errors import ConfigError, ConfigProblem

LANGUAGES = ("id", "en")
PARTS = ("subject", "txt", "html")


def shipped_templates_dir() -> Path:
    """The templates that ship with responder: in the wheel, or beside the source tree."""
    package = Path(__file__).resolve().parents[1]  # responder/
    packaged = package / "_templates"
    return packaged if packaged.is_dir() else package.parent / "templates"


@dataclass(frozen=True)
class Rendered:
    template: str
    language: str
    subject: str
    text: str
    html: str


class Templates:
    """Finds `<lang>/<name>.<part>.j2` in the admin's folder first, then the shipped one."""

    def __init__(self, admin_dir: Path | None = None) -> None:
        dirs = [str(admin_dir)] if admin_dir is not None else []
        dirs.append(str(shipped_templates_dir()))
        # Customer text only ever enters as context data; the sandbox and StrictUndefined make
        # an admin's template typo an error, and HTML parts are autoescaped.
        self._env = ImmutableSandboxedEnvironment(
            loader=jinja2.FileSystemLoader(dirs),
            undefined=jinja2.StrictUndefined,
            # Every part but the subject and the text is markup: HTML, or a channel's own
            # (Telegram's HTML subset in .telegram.j2).
            autoescape=lambda name: bool(name and not name.endswith((".subject.j2", ".txt.j2"))),
            keep_trailing_newline=True,
            auto_reload=False,
        )

    def languages_for(self, name: str, chain: Sequence[str]) -> str | None:
        """The first language in `chain` that has the template's text part."""
        for language in chain:
            if self._exists(f"{language}/{name}.txt.j2"):
                return language
        return None

    def _exists(self, path: str) -> bool:
        try:
            self._env.get_template(path)
        except jinja2.TemplateNotFound:
            return False
        return True

    def _has_source(self, path: str) -> bool:
        """Whether the file exists, without compiling it (a syntax error is check's to report)."""
        assert self._env.loader is not None
        try:
            self._env.loader.get_source(self._env, path)
        except jinja2.TemplateNotFound:
            return False
        return True

    def render(self, name: str, chain: Sequence[str], context: Mapping[str, Any]) -> Rendered:
        language = self.languages_for(name, chain)
        if language is None:
            raise jinja2.TemplateNotFound(f"{name} (languages tried: {', '.join(chain)})")
        text = self._env.get_template(f"{language}/{name}.txt.j2").render(context)
        html = self._env.get_template(f"{language}/{name}.html.j2").render(context)
        subject = self._env.get_template(f"{language}/{name}.subject.j2").render(context)
        # A subject is a header: never more than one line, whatever the context held.
        return Rendered(name, language, sanitize_header_text(subject, 250), text, html)

    def render_markup(
        self,
        name: str,
        chain: Sequence[str],
        context: Mapping[str, Any],
        part: str,
        escape: Callable[[str], str],
    ) -> Rendered:
        """For a channel with markup of its own: `html` is that markup, from the template's
        `part` (autoescaped) or else its text part put through `escape`."""
        language = self.languages_for(name, chain)
        if language is None:
            raise jinja2.TemplateNotFound(f"{name} (languages tried: {', '.join(chain)})")
        path = f"{language}/{name}.{part}.j2"
        if self._exists(path):
            html = self._env.get_template(path).render(context)
        else:
            html = escape(self._env.get_template(f"{language}/{name}.txt.j2").render(context))
        return Rendered(name, language, "", html, html.strip())

    def check(
        self, names: Sequence[str], sample: Mapping[str, Any], parts: Sequence[str] = ()
    ) -> list[ConfigProblem]:
        """Render every part of every template in every shipped language against `sample`;
        the channels' own `parts` ("telegram") where a template has one."""
        problems = []
        for name in names:
            for language in LANGUAGES:
                for part in PARTS:
                    problem = self._check_one(f"{language}/{name}.{part}.j2", sample)
                    if problem is not None:
                        problems.append(problem)
                for own in parts:
                    path = f"{language}/{name}.{own}.j2"
                    if self._has_source(path) and (problem := self._check_one(path, sample)):
                        problems.append(problem)
        return problems

    def _check_one(self, path: str, sample: Mapping[str, Any]) -> ConfigProblem | None:
        try:
            template = self._env.get_template(path)
        except jinja2.TemplateSyntaxError as exc:
            message = exc.message or "syntax error"
            return ConfigProblem(exc.filename or path, exc.lineno, None, path, message)
        except jinja2.TemplateNotFound:
            return ConfigProblem(path, None, None, "", "template missing")
        filename = template.filename or path
        try:
            template.render(sample)
        except jinja2.TemplateError as exc:
            return ConfigProblem(filename, _template_line(exc, filename), None, path, str(exc))
        return None

    def require(
        self, names: Sequence[str], sample: Mapping[str, Any], parts: Sequence[str] = ()
    ) -> None:
        problems = self.check(names, sample, parts)
        if problems:
            raise ConfigError(problems)


def _template_line(exc: BaseException, filename: str) -> int | None:
    """The template line an error came from: Jinja rewrites tracebacks to point into the
    template file, so the last frame in that file names the line."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
