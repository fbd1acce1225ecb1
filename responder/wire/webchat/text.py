"""A template's chat wording (Telegram's HTML subset, .telegram.j2) as the plain text the chat
panel shows: the panel renders text only, never markup (issue 17)."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<(/?)([a-zA-Z-]+)([^>]*)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def plain(markup: str) -> str:
    """`markup` (autoescaped: customer words in it are entities) as plain text: tags dropped,
    their words kept, a link's address written after its words when they differ."""
    out: list[str] = []
    links: list[str] = []
    pos = 0
    for match in _TAG.finditer(markup):
        out.append(_text(markup[pos : match.start()]))
        pos = match.end()
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name == "a" and not closing:
            href = _HREF.search(match.group(3))
            links.append(html.unescape((href.group(1) or href.group(2)) if href else ""))
            out.append("\0")
        elif name == "a" and links:
            address = links.pop()
            start = len(out) - 1 - out[::-1].index("\0") if "\0" in out else len(out)
            words = "".join(out[start + 1 :])
            del out[start:]
            same = not address or words.strip() == address
            out.append(words if same else f"{words} ({address})")
        elif name == "br":
            out.append("\n")
    out.append(_text(markup[pos:]))
    return "".join(out).replace("\0", "")


def _text(escaped: str) -> str:
    # NUL marks where a link's words start; none of the words may carry one.
    return html.unescape(escaped).replace("\0", "")
