"""The chat wording of a template (Telegram's HTML subset, .telegram.j2) as WhatsApp text:
*bold*, _italic_, ~strike~, ```code```, a link's address written out."""

from __future__ import annotations

import html
import re

# WhatsApp's own formatting ("Format your WhatsApp messages"): the markers around a word.
_MARKS = {"b": "*", "strong": "*", "i": "_", "em": "_", "s": "~", "strike": "~", "del": "~"}
_TAG = re.compile(r"<(/?)([a-zA-Z-]+)([^>]*)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def from_chat_html(markup: str) -> str:
    """`markup` (autoescaped: customer words in it are entities) as the text WhatsApp shows;
    tags it has no form for are dropped, their text kept."""
    out: list[str] = []
    links: list[str] = []
    pos = 0
    for match in _TAG.finditer(markup):
        out.append(markup[pos : match.start()])
        pos = match.end()
        closing, name, attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if name in _MARKS:
            out.append(_MARKS[name])
        elif name in ("code", "pre"):
            out.append("```" if name == "pre" else "`")
        elif name == "a" and not closing:
            href = _HREF.search(attrs)
            links.append(html.unescape((href.group(1) or href.group(2)) if href else ""))
            out.append("\0")  # where the link's text starts
        elif name == "a" and links:
            out.append(f"\0{links.pop()}\0")
    out.append(markup[pos:])
    return html.unescape(_links("".join(out)))


def _links(text: str) -> str:
    """`\0words\0address\0` as `words (address)`, or the address alone when it is the words."""

    def one(match: re.Match[str]) -> str:
        words, address = match.group(1), match.group(2)
        if not address or html.unescape(words).strip() == address:
            return words or address
        return f"{words} ({address})"

    return re.sub(r"\0([^\0]*)\0([^\0]*)\0", one, text).replace("\0", "")
