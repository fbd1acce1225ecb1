"""Telegram HTML text: escaping, Telegram's own length count, and splitting at the limit."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import pytest

from responder.wire.telegram.text import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    escape,
    split_html,
    truncate_html,
    visible_length,
)


class _Reader(HTMLParser):
    """The text a reader sees, and whether every tag is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.open: list[str] = []
        self.balanced = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.balanced = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def _visible(html: str) -> str:
    return "".join(_read(html).text)


def _balanced(html: str) -> bool:
    reader = _read(html)
    return reader.balanced and not reader.open


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_limits() -> None:
    assert (MESSAGE_LIMIT, CAPTION_LIMIT) == (4096, 1024)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<b>&", "&lt;b&gt;&amp;"),
        ('say "hi" it\'s', 'say "hi" it\'s'),
        ("a\x00b\x07c\x1bd\x7f", "abcd\x7f"),
        ("keep\ttab\nand newline", "keep\ttab\nand newline"),
        ("windows\r\nmac\rend", "windows\nmac\nend"),
        ("", ""),
    ],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@pytest.mark.parametrize(
    "html, expected",
    [
        ("", 0),
        ("hello", 5),
        ("<b>bold</b> <i>it</i>", 7),
        ('<a href="https://example.com/?a=1&amp;b=2">link</a>', 4),
        ("&amp;&lt;&gt;&quot;", 4),
        ("&#65;&#x42;", 2),
        ("&#128512;", 2),
        ("😀", 2),
        ("<b>😀 ok</b>", 5),
        ("é", 1),
        ("&nbsp;", 6),  # unsupported by Telegram, so read as text
        ("a < b", 5),  # an unterminated `<` is text
    ],
)
def test_visible_length(html: str, expected: int) -> None:
    assert visible_length(html) == expected


@pytest.mark.parametrize("html", ["", "   ", "\n \n", "<b> </b>"])
def test_nothing_to_send(html: str) -> None:
    assert split_html(html) == []
    assert truncate_html(html, CAPTION_LIMIT) == ""


@pytest.mark.parametrize(
    "html",
    ["hello", "<b>bold</b> &amp; more", "  leading and trailing  ", "x" * MESSAGE_LIMIT],
)
def test_text_that_fits_is_unchanged(html: str) -> None:
    assert split_html(html) == [html]
    assert truncate_html(html, MESSAGE_LIMIT) == html


def _assert_chunks(chunks: list[str], original: str, limit: int) -> None:
    assert chunks
    for chunk in chunks:
        assert 0 < visible_length(chunk) <= limit
        assert _balanced(chunk)
    assert _squash("".join(_visible(c) for c in chunks)) == _squash(_visible(original))


def test_split_long_plain_text() -> None:
    words = [f"word{n}" for n in range(2000)]
    text = " ".join(words)[:10_000]
    chunks = split_html(text)
    assert len(chunks) == 3
    _assert_chunks(chunks, text, MESSAGE_LIMIT)
    # Cut at spaces: every word survives whole.
    assert " ".join(chunks).split() == text.split()


def test_split_unbroken_text_hard_cuts_at_limit() -> None:
    text = "x" * 10_000
    chunks = split_html(text)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == text


def test_split_never_inside_an_entity() -> None:
    html = escape("&" * 5000)
    chunks = split_html(html, 100)
    for chunk in chunks:
        assert re.fullmatch(r"(&amp;)+", chunk)
        assert visible_length(chunk) <= 100
    assert "".join(chunks) == html


def test_split_never_inside_an_astral_character() -> None:
    text = "😀" * 5000
    chunks = split_html(text)
    for chunk in chunks:
        assert visible_length(chunk) <= MESSAGE_LIMIT
        chunk.encode("utf-8")  # a lone surrogate would raise
        assert set(chunk) == {"😀"}
    assert [len(c) for c in chunks] == [2048, 2048, 904]
    assert "".join(chunks) == text


def test_odd_limit_leaves_an_emoji_for_the_next_chunk() -> None:
    chunks = split_html("😀" * 10, 5)
    assert chunks == ["😀😀"] * 5


def test_bold_across_the_cut_is_closed_and_reopened() -> None:
    html = "<b>" + "bold " * 30 + "</b>"
    chunks = split_html(html, 50)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.startswith("<b>") and chunk.endswith("</b>")
    _assert_chunks(chunks, html, 50)


def test_link_across_the_cut_is_reopened_with_its_href() -> None:
    opening = '<a href="https://example.com/x?a=1&amp;b=2">'
    html = "see " + opening + "a long link text " * 10 + "</a> done"
    chunks = split_html(html, 60)
    assert len(chunks) > 1
    assert chunks[1].startswith(opening)
    assert chunks[0].endswith("</a>")
    _assert_chunks(chunks, html, 60)


def test_nested_tags_reopen_in_order_and_count_nothing() -> None:
    html = '<blockquote expandable><span class="tg-spoiler"><i>' + "x" * 25 + "</i></span>"
    html += "</blockquote>"
    chunks = split_html(html, 10)
    assert chunks[1] == '<blockquote expandable><span class="tg-spoiler"><i>' + "x" * 10 + (
        "</i></span></blockquote>"
    )
    _assert_chunks(chunks, html, 10)


def test_cut_prefers_the_last_newline_then_the_last_space() -> None:
    # Limit 30: breaks count from 24 on; the newline at 25 beats the later space at 28.
    chunks = split_html("alpha beta gamma delta xy\nab cd ef gh", 30)
    assert chunks == ["alpha beta gamma delta xy", "ab cd ef gh"]
    words = "one two three four five six seven eight nine ten"
    assert split_html(words, 20)[0] == "one two three four"


def test_break_too_early_in_the_chunk_is_ignored() -> None:
    text = "ab " + "c" * 40
    assert split_html(text, 20) == ["ab " + "c" * 17, "c" * 20, "ccc"]


def test_whitespace_at_the_cut_is_dropped_but_nothing_else() -> None:
    text = "a" * 18 + "  \n\n  " + "b" * 10
    assert split_html(text, 20) == ["a" * 18, "b" * 10]


def test_unterminated_angle_bracket_is_text() -> None:
    html = "a <b and more " * 10
    chunks = split_html(html, 30)
    assert all(visible_length(c) <= 30 for c in chunks)
    assert _squash("".join(chunks)) == _squash(html)


@pytest.mark.parametrize("limit", [1, 0, -5])
def test_limit_too_small(limit: int) -> None:
    with pytest.raises(ValueError):
        split_html("text", limit)


@pytest.mark.parametrize(
    "html, limit, expected",
    [
        ("short caption", CAPTION_LIMIT, "short caption"),
        ("one two three four five", 20, "one two three four…"),
        ("<b>one two three four five</b>", 20, "<b>one two three four…</b>"),
        ("<b>one two three four</b> five", 20, "<b>one two three four</b>…"),
        ("one two three four", 10, "one two t…"),  # no break in the final fifth: hard cut
        ("x" * 20, 10, "x" * 9 + "…"),
        ("😀" * 10, 6, "😀😀…"),
    ],
)
def test_truncate_html(html: str, limit: int, expected: str) -> None:
    result = truncate_html(html, limit)
    assert result == expected
    assert visible_length(result) <= limit
    assert _balanced(result)


def test_truncate_caption_limit() -> None:
    html = "<i>" + escape("long caption & more ") * 100 + "</i>"
    result = truncate_html(html, CAPTION_LIMIT)
    assert visible_length(result) <= CAPTION_LIMIT
    assert result.endswith("…</i>")
    assert _balanced(result)


_PARTS = ["word", "longer-word", "a", "\n", " ", "  ", "&", "<", ">", "😀", "é", "\n\n", "x" * 30]


def test_random_text_splits_within_limit_and_keeps_all_text() -> None:
    rng = random.Random(20240531)
    limit = 50
    for _ in range(300):
        text = "".join(rng.choice(_PARTS) for _ in range(rng.randint(0, 80)))
        html = "<b>" + escape(text) + "</b>"
        chunks = split_html(html, limit)
        if not text.strip():
            assert chunks == []
            continue
        _assert_chunks(chunks, html, limit)
