"""Reading a customer's emailed answer to the satisfaction survey: a 1-5 rating, maybe an NPS."""

from __future__ import annotations

import re
from dataclasses import dataclass

from responder.core.csat.answer_words import FILLER, PARTICLES, PLURALS, SUBJECT, THANKS, counts

__all__ = ["SurveyReply", "read_answer"]

_MAX_TEXT = 4000  # a rating is at the top; bounding the input bounds every regex below
_MAX_COMMENT = 2000
_LONG_LINE = 40  # words: a longer first line needs an explicit rating ("4 bintang", "nilai 4")
_MAX_GREETING = 3  # words on a line allowed before the answer ("Hi,", "Dear CS team")


@dataclass(frozen=True)
class SurveyReply:
    """A survey answer: `nps` only when it was asked and given; `comment` the rest they wrote."""

    rating: int
    nps: int | None
    comment: str


# Where a mail client starts quoting what is being answered (as in core/staff.new_text).
_QUOTE_HEAD = re.compile(r"(?:On .{0,200} wrote|Pada .{0,200} menulis):", re.I)
_WRAPPED_HEAD = re.compile(r"(?:On|Pada) ", re.I)  # Gmail wraps long heads onto two lines
_STOP = re.compile(
    r"-{2,} ?(?:Original Message|Pesan Asli|Forwarded message|Pesan yang diteruskan) ?-{2,}"
    r"|_{10,}|--|Begin forwarded message:.*|Sent from (?:my|Yahoo|Mail for|Outlook)\b.*"
    r"|Dikirim dari (?:iPhone|iPad|ponsel|perangkat|Samsung|Android|Yahoo|Outlook|Mail)\b.*"
    r"|Get Outlook for\b.*",
    re.I,
)
# Outlook quotes with a header block instead of ">" ("From:/Sent:", "Dari:/Dikirim:").
_HEADER_FROM = re.compile(r"\*?(?:From|Dari) ?:\*? ?\S", re.I)
_HEADER_NEXT = re.compile(r"\*?(?:Sent|Date|To|Cc|Subject|Dikirim|Tanggal|Kepada|Subjek) ?:", re.I)

_NUMBER = re.compile(r"\d+", re.A)
_STAR = re.compile("[⭐★🌟]")
_STARS = re.compile("[⭐★🌟☆](?: ?[⭐★🌟☆])*")
# A rating keyword, a few filler words, then the number: "nilai 4", "I'd give it a 4".
_KEYWORD = re.compile(
    r"\b(?:nilai(?:nya)?|rating(?:nya)?|score|skor(?:nya)?|bintang(?:nya)?|stars?"
    r"|(?<!terima )(?<!trima )kasih?|beri(?:kan)?|give|gave|rated?)"
    r"(?: ?[:=] ?| )(?:(?:a|an|it|is|of|you|u|us|guys|this|saya|sy|aku|kami|anda|kamu|kalian"
    r"|adalah|nilai|angka|rating|skor|score|bintang|sebesar|my|our)(?: ?[:=] ?| )){0,3}(?P<n>\d+)",
    re.I | re.A,
)
# After "kasih"/"beri"/"give" a number may be a quantity ("kasih 2 pcs"), after these not.
_STRONG = re.compile(r"nilai|rating|score|skor|bintang|star", re.I)
_CONTINUED = re.compile(r"[.,:]\d| ?/ ?\d+ ?/", re.A)  # 4.5, 4,5, 5:30, 4/5/2024
_RANGE = re.compile(
    r" ?(?:\([^()]{0,30}\) ?)?(?:(?P<dash>[-–—~])|sampai|hingga|s/?d|to|until) ?\d+ ?"
    r"(?P<word>[A-Za-z]*)",
    re.I | re.A,
)
_SLASH = re.compile(r" ?/ ?(\d+)", re.A)
_OUT_OF = re.compile(r" ?(?:dari|out of|of) 5(?!\d)", re.I | re.A)
_STAR_WORD = re.compile(r" ?(?:(?:bintang|stars?)(?![A-Za-z])|[⭐★🌟*]+)", re.I)
_NEXT_WORD = re.compile(r"(?:[ ,;:.!\-–—~]*\d+ ?| ?)([A-Za-z]+)", re.A)
_NPS_BARE = re.compile(r"[ ,;/&\-–—~]*(?:(?:and|dan) )?(\d+)(?![.,]?\d) ?([A-Za-z]*)", re.I | re.A)
_NPS_WORD = r"\b(?:nps|rekomendasi(?:nya)?|rekomen|merekomendasikan|recommend\w{0,10}|likely)\b"
_NPS_KEYWORD = re.compile(_NPS_WORD + r"[^\d\n]{0,30}?(\d+)(?![.,]?\d)", re.I | re.A)
_NPS_LINE = re.compile(r"(?:" + _NPS_WORD + r"[ :=\-]*)?(\d+)[ .!]*", re.I | re.A)
_WORD = re.compile(r"[^\W\d_]+")
_GOOD = re.compile(r"\bgood (?:morning|afternoon|evening|day)\b", re.I | re.A)
_SECOND = re.compile(r"(?:and|dan|&) ?\d", re.I | re.A)  # "5 dan 9": a rating, then the NPS
_SEPARATORS = ",;:.!-–—~("
_TRIM = " ,;:-–—~/"


def read_answer(text: str, *, nps_asked: bool = False) -> SurveyReply | None:
    """The survey answer in an emailed reply, or None when it is an ordinary message.

    The customer's own first line with a digit (or stars) must hold the rating: alone, followed
    by a separator, a rating word ("4 bintang", "4/5", "5 dari 5") or a comment ("1 lambat"),
    or after a rating keyword ("nilai 4", "I'd give it a 4"); never counting ("3 hari"). Only
    greetings of up to three words may come before it.
    With `nps_asked`, "a/b" is rating a and NPS b unless b is 5; "5, 9" and "nps 9" give it.
    """
    cleaned = re.sub(r"[^\S\n]+", " ", text[:_MAX_TEXT].replace("\ufe0f", ""))
    lines = _own_lines(cleaned)
    index = _answer_index(lines)
    if index is None:
        return None
    line, later = lines[index], lines[index + 1 :]
    found = _find_rating(line, nps_asked)
    if found is None:
        return None
    rating, start, end = found
    following = next((rest for rest in later if rest), "")
    if line[end : end + 1] == "." and following.startswith((f"{rating + 1}.", f"{rating + 1})")):
        return None  # "1. Kapan dikirim?" / "2. Bisa COD?" is a list of questions
    before, after, nps = line[:start], line[end:], None
    if nps_asked:
        nps, before, after, later = _find_nps(before, after, later)
    parts = [_tidy(own) for own in lines[:index]]
    parts += [_join(_tidy(before), _tidy(after)), *later]
    comment = re.sub(r"\n{3,}", "\n\n", "\n".join(parts)).strip()
    return SurveyReply(rating, nps, comment[:_MAX_COMMENT].rstrip())


def _own_lines(text: str) -> list[str]:
    """The customer's lines, stripped: quoted history dropped, cut at a signature."""
    lines = [line.strip() for line in text.splitlines()]
    own: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        head = 1 if _QUOTE_HEAD.fullmatch(line) else 0
        if not head and _WRAPPED_HEAD.match(line) and i + 1 < len(lines):
            head = 2 if _QUOTE_HEAD.fullmatch(f"{line} {lines[i + 1]}") else 0
        if head:
            # A bottom-poster's answer follows a ">" quote; an unmarked quote runs to the end.
            quoted = next((q for q in lines[i + head : i + head + 5] if q), "")
            if not quoted.startswith(">"):
                break
            i += head
            continue
        if _STOP.fullmatch(line) or (
            _HEADER_FROM.match(line) and any(_HEADER_NEXT.match(n) for n in lines[i + 1 : i + 4])
        ):
            break
        if not line.startswith(">"):
            own.append(line)
        i += 1
    return own


def _answer_index(lines: list[str]) -> int | None:
    """The first line with a digit or a star, if only short greetings come before it."""
    for index, line in enumerate(lines):
        if _NUMBER.search(line) or _STAR.search(line):
            return index
        if len(line.split()) > _MAX_GREETING:
            return None
    return None


def _find_rating(line: str, nps_asked: bool) -> tuple[int, int, int] | None:
    """The rating on the answer line and the span of the words that give it."""
    long = len(line.split()) > _LONG_LINE
    given: set[int] = set()  # numbers after "kasih"/"give": "kasih 1 bonus dong" asks for one
    for match in _KEYWORD.finditer(line):
        if not 1 <= int(match.group("n")) <= 5:
            continue
        strict = not _STRONG.search(match.group())
        if strict:
            given.add(match.start("n"))
        end = _rating_end(line, match.end(), nps_asked, strict=strict, comment_ok=False, long=long)
        if end is not None:
            return int(match.group("n")), match.start(), end
    # After the keywords, so that "saya kasih 5" is read whole and "saya kasih" is not a comment.
    first = _NUMBER.search(line)
    if first and 1 <= int(first.group()) <= 5 and _only(line[: first.start()], FILLER | THANKS):
        comment_ok = first.start() not in given
        end = _rating_end(
            line, first.end(), nps_asked, strict=True, comment_ok=comment_ok, long=long
        )
        if end is not None:
            return int(first.group()), first.start(), end
    stars = _STARS.search(line)
    if stars:
        filled = len(_STAR.findall(stars.group()))
        if 1 <= filled <= 5 and len(stars.group().replace(" ", "")) <= 5:
            return filled, stars.start(), stars.end()
    return None


def _rating_end(
    line: str, pos: int, nps_asked: bool, *, strict: bool, comment_ok: bool, long: bool
) -> int | None:
    """Where the rating phrase ending in a number at `pos` ends, or None if it is no rating.

    `strict` (a bare number, or after "kasih"/"give") allows only an ending, a separator, a
    rating word or a comment after it (see `_tail_ok`); a long line needs the rating word.
    """
    rest = line[pos:]
    ranged = _RANGE.match(rest)
    if _CONTINUED.match(rest) or (
        ranged and not (nps_asked and ranged["dash"] and not counts(ranged["word"]))
    ):
        return None  # a decimal, a time, a date, or "1 sampai 5" / "2-3 hari"
    explicit = False
    if slash := _SLASH.match(rest):
        if int(slash.group(1)) == 5:
            pos += slash.end()
        elif not nps_asked or int(slash.group(1)) > 10:
            return None  # "4/7" is a date or a fraction unless an NPS was asked for
        explicit = True
    elif out_of := _OUT_OF.match(rest):
        pos, explicit = pos + out_of.end(), True
    if star_word := _STAR_WORD.match(line, pos):
        pos, explicit = star_word.end(), True
    if explicit:
        return pos
    counted = _NEXT_WORD.match(rest)
    if counted and counts(counted[1]):
        return None  # "nilai 2 barang", "3 kali", "1, 2 barang"
    if not strict:
        return pos
    return None if long or not _tail_ok(rest.strip(), comment_ok) else pos


def _tail_ok(tail: str, comment_ok: bool) -> bool:
    """Whether what follows a bare number ends a rating rather than continuing a sentence.

    A word there starts the comment ("1 lambat sekali", "5 mantap") unless it makes the number
    a count or the subject ("3 hari", "3 business days", "1 belum sampai"), or the line asks
    something ("2 kapan dikirim?"): those are follow-ups staff must read, and a missed rating
    costs less than a hidden question. Without `comment_ok` ("kasih 5") only thanks may follow.
    """
    words = tail.split()
    while words and words[0].lower() in PARTICLES:
        words.pop(0)
    tail = " ".join(words)
    if not tail or tail[0] in _SEPARATORS or tail[0].isdigit() or _SECOND.match(tail):
        return True
    if tail[0].isascii() and tail[0].isalpha():
        first, second = (
            m.group().lower() if (m := _WORD.match(token)) else "" for token in [*words, ""][:2]
        )
        if not comment_ok:
            return first in THANKS
        return not (counts(first) or first in SUBJECT or second in PLURALS or "?" in tail)
    return not tail[0].isascii()  # an emoji ends the rating: "5 🙏"; "5%" or "5#" do not


def _find_nps(before: str, after: str, later: list[str]) -> tuple[int | None, str, str, list[str]]:
    """The NPS next to the rating ("5, 9", "nps 9") or alone on the next line, and the text
    left without it."""
    bare = _NPS_BARE.match(after)
    if bare and counts(bare[2]):
        bare = None  # "5, 2 barang" counts things
    for match in (bare, _NPS_KEYWORD.search(after)):
        if match and int(match.group(1)) <= 10:
            # Only up to the number: "5, 9 mantap" keeps "mantap" for the comment.
            after = after[: match.start()] + after[match.end(1) :]
            return int(match.group(1)), before, after, later
    match = _NPS_KEYWORD.search(before)
    if match and int(match.group(1)) <= 10:
        return int(match.group(1)), before[: match.start()] + before[match.end() :], after, later
    for i, line in enumerate(later):
        if line:
            match = _NPS_LINE.fullmatch(line)
            if match and int(match.group(1)) <= 10:
                return int(match.group(1)), before, after, later[:i] + later[i + 1 :]
            break
    return None, before, after, later


def _only(text: str, words: frozenset[str]) -> bool:
    """Whether `text` holds only these words, punctuation and emoji: no other word or digit."""
    rest = _WORD.sub(lambda m: "" if m.group().lower() in words else "x", _GOOD.sub("", text))
    return all(c in " ,.!:;'-–—~" or (not c.isascii() and not c.isalnum()) for c in rest)


def _tidy(piece: str) -> str:
    """A piece of the comment without its edge punctuation; empty if it is only a greeting."""
    piece = piece.lstrip(_TRIM + ".!?").rstrip(_TRIM)
    return "" if _only(piece, FILLER) and not any(not c.isascii() for c in piece) else piece


def _join(before: str, after: str) -> str:
    if before and after:
        return before + (" " if before[-1] in ".!?" else ", ") + after
    return before or after
