"""Turns body bytes into clean text: charset decoding, HTML to text, normalising, capping."""

from __future__ import annotations

import codecs
import re
from html import unescape
from html.parser import HTMLParser

from responder.common.text import SURROGATE

_BODY_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NEWLINE = re.compile(r"\r\n?")
# Labels that say "Latin-1" but on today's internet usually carry UTF-8 or windows-1252.
_WESTERN = frozenset({"ascii", "iso8859-1", "cp1252"})


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes decoded by their declared charset, falling back sensibly, never raising."""
    name = _codec_name(charset)
    if name is None or name in _WESTERN:
        # Undeclared and Latin-1 labelled text is in practice UTF-8 more often than not; text
        # that is really Latin-1 is almost never valid UTF-8, so trying UTF-8 first is safe.
        # WHATWG Encoding treats the Latin-1 labels as windows-1252, as mail clients do.
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.reason == "unexpected end of data":  # a body we cut mid-character
                return data[: exc.start].decode("utf-8")
            return data.decode("cp1252", errors="replace")
    try:
        return data.decode(name, errors="replace")
    except Exception:
        return data.decode("utf-8", errors="replace")


def _codec_name(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        return codecs.lookup(charset.strip().strip('"').lower()).name
    except Exception:
        return None


def normalise_text(text: str) -> str:
    """Body text with newlines unified, control characters dropped and ends trimmed."""
    text = _BODY_CONTROL.sub("", SURROGATE.sub("\ufffd", _NEWLINE.sub("\n", text)))
    return text.strip()


def cap_utf8(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, never mid-character."""
    data = text.encode("utf-8", errors="replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


class _HTMLText(HTMLParser):
    """Collects the visible text of an HTML body, keeping paragraph and line breaks."""

    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
    _PARAGRAPH = frozenset(
        {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol"}
        | {"pre", "section", "article", "header", "footer", "address", "hr", "dl", "form"}
    )
    _LINE = frozenset({"br", "li", "tr", "dt", "dd"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skip = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self._skip = 0  # a missing </head> must not hide the whole message
        elif tag in self._SKIP:
            self._skip += 1
        elif tag in ("td", "th"):
            self.chunks.append(" ")
        self._break(tag)
        self._pre += tag == "pre"

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(self._skip - 1, 0)
        self._pre = max(self._pre - (tag == "pre"), 0)
        if tag in self._PARAGRAPH:
            self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data if self._pre else re.sub(r"[ \t\r\n\f]+", " ", data))

    def _break(self, tag: str) -> None:
        if tag in self._PARAGRAPH:
            self.chunks.append("\n\n")
        elif tag in self._LINE:
            self.chunks.append("\n")


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body: tags, scripts and styles gone, entities decoded."""
    parser = _HTMLText()
    try:
        parser.feed(markup)
        parser.close()
        text = "".join(parser.chunks)
    except Exception:
        text = unescape(re.sub(r"<[^>]*>", " ", markup))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.replace("\xa0", " ").split("\n")]
    return normalise_text(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)))
