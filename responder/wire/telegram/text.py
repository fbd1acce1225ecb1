"""Telegram message text: HTML escaping for parse_mode=HTML and splitting at the length limit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

# Bot API sendMessage: "1-4096 characters after entities parsing"; captions: 0-1024.
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024

# C0 controls other than \t and \n (\r is normalised first), plus lone surrogates, which a
# Python str can carry from surrogateescape decoding but UTF-8 JSON cannot.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\ud800-\udfff]")

# Bot API "Formatting options", HTML style: only &lt; &gt; &amp; &quot; and numeric entities are
# understood. Anything else (an unknown entity, a `<` not starting a tag) is read as plain text
# here, so malformed input is measured, never rejected.
_MARKUP = re.compile(
    r"(?P<tag><(?P<close>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?>)"
    r"|(?P<entity>&(?:amp|lt|gt|quot|#(?P<dec>[0-9]{1,7})|#[xX](?P<hex>[0-9A-Fa-f]{1,6}));)"
)

_TEXT, _SPACE, _NEWLINE, _OPEN, _CLOSE = range(5)


class _Token(NamedTuple):
    raw: str
    units: int  # UTF-16 code units Telegram counts for it
    kind: int
    name: str = ""


# An open tag as (name, the start tag exactly as written), so a reopened `<a href>` keeps its
# href and a `<span class="tg-spoiler">` stays a spoiler.
_Stack = tuple[tuple[str, str], ...]


def escape(text: str) -> str:
    """`text` safe inside a parse_mode=HTML message: `&`, `<`, `>` as entities, controls gone.

    Quotes are left alone: they only need escaping inside attribute values. \\r\\n and a lone \\r
    become \\n so old-Mac line ends still break lines rather than glue them together.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _UNSAFE.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


def _entity_units(match: re.Match[str]) -> int:
    dec, hex_ = match.group("dec"), match.group("hex")
    if dec is None and hex_ is None:
        return 1
    code = int(dec) if dec is not None else int(hex_, 16)
    return 2 if 0xFFFF < code <= 0x10FFFF else 1


def _text_tokens(text: str) -> Iterator[_Token]:
    for char in text:
        if char == "\n":
            yield _Token(char, 1, _NEWLINE)
        elif char.isspace():
            yield _Token(char, 1, _SPACE)
        else:
            yield _Token(char, _units(char), _TEXT)


def _tokenize(html: str) -> list[_Token]:
    """Tags and entities as single tokens, other text per code point: nothing between tokens can
    be a cut, so no chunk ends inside a tag, an entity, or an astral character."""
    tokens: list[_Token] = []
    pos = 0
    for match in _MARKUP.finditer(html):
        tokens.extend(_text_tokens(html[pos : match.start()]))
        if match.group("tag") is not None:
            kind = _CLOSE if match.group("close") else _OPEN
            tokens.append(_Token(match.group(0), 0, kind, match.group("name").lower()))
        else:
            tokens.append(_Token(match.group(0), _entity_units(match), _TEXT))
        pos = match.end()
    tokens.extend(_text_tokens(html[pos:]))
    return tokens


def visible_length(html: str) -> int:
    """The length Telegram checks against its limits: text after entity parsing, in UTF-16."""
    return sum(token.units for token in _tokenize(html))


def _pop(stack: _Stack, name: str) -> _Stack:
    for index in range(len(stack) - 1, -1, -1):
        if stack[index][0] == name:
            return stack[:index] + stack[index + 1 :]
    return stack  # a stray end tag: nothing of ours to close


def _chunks(tokens: list[_Token], limit: int) -> Iterator[tuple[str, str]]:
    """Each chunk as (body, the end tags that close it); bodies hold at most `limit` units."""
    floor = limit - limit // 5  # a break earlier than this wastes too much of the message
    stack: _Stack = ()
    start, total = 0, len(tokens)
    while start < total:
        pieces: list[_Token] = [_Token(raw, 0, _OPEN, name) for name, raw in stack]
        # Whitespace at the head of a continuation is the cut's own; Telegram would trim it.
        seen_text = start == 0
        used = 0
        newline: tuple[int, int, _Stack] | None = None
        space: tuple[int, int, _Stack] | None = None
        cut: int | None = None
        index = start
        while index < total:
            token = tokens[index]
            if token.kind == _OPEN:
                stack = (*stack, (token.name, token.raw))
            elif token.kind == _CLOSE:
                stack = _pop(stack, token.name)
            elif not seen_text and token.kind != _TEXT:
                index += 1
                continue
            elif used + token.units > limit:
                cut = index
                break
            else:
                if token.kind != _TEXT and used >= floor:
                    place = (index, len(pieces), stack)
                    newline, space = (place, space) if token.kind == _NEWLINE else (newline, place)
                seen_text = True
                used += token.units
            pieces.append(token)
            index += 1
        start = total
        if cut is not None:
            start = cut
            # Prefer ending a paragraph, then a word; the break character itself is dropped.
            best = newline or space
            if best is not None:
                start, kept, stack = best[0] + 1, best[1], best[2]
                del pieces[kept:]
            while pieces and pieces[-1].kind in (_SPACE, _NEWLINE):
                pieces.pop()
        if any(piece.kind == _TEXT for piece in pieces):
            closers = "".join(f"</{name}>" for name, _ in reversed(stack))
            yield "".join(piece.raw for piece in pieces), closers


def _blank(tokens: list[_Token]) -> bool:
    return not any(token.kind == _TEXT for token in tokens)


def split_html(html: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """`html` as messages of at most `limit` visible UTF-16 units each, every one valid alone.

    Tags open at a cut are closed at the end of the chunk and reopened, attributes and all, at
    the start of the next; tags count nothing, so the limit holds however many are reopened.
    A cut falls at the last newline, else the last space, in the final fifth of a chunk, else
    exactly at the limit; whitespace at a cut may be dropped, never other text. Text that fits
    comes back unchanged as one message; text with nothing visible but whitespace as none.
    """
    if limit < 2:
        raise ValueError("limit must leave room for an astral character (2 UTF-16 units)")
    tokens = _tokenize(html)
    if _blank(tokens):
        return []
    if sum(token.units for token in tokens) <= limit:
        return [html]
    return [body + closers for body, closers in _chunks(tokens, limit)]


def truncate_html(html: str, limit: int) -> str:
    """`html` cut to `limit` visible units, ending in "…" when anything was cut (for captions).

    The ellipsis goes inside the tags still open, so it reads as part of the cut text.
    """
    if limit < 3:
        raise ValueError("limit must leave room for an astral character and the ellipsis")
    tokens = _tokenize(html)
    if _blank(tokens):
        return ""
    if sum(token.units for token in tokens) <= limit:
        return html
    body, closers = next(_chunks(tokens, limit - 1))
    return body + "…" + closers
