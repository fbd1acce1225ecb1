"""One-line text any layer may echo into a header, a log line or a stored reason."""

from __future__ import annotations

import re

# Lone surrogates: what a parser makes of undecodable 8-bit bytes; never valid in output.
SURROGATE = re.compile("[\ud800-\udfff]")
# C0, DEL, C1 (which includes NEL U+0085), and the Unicode line and paragraph separators: any of
# them in a header we echo back could start a new header line (RFC 5322 section 2.2).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def sanitize_header_text(s: str, limit: int) -> str:
    """`s` made safe for a single header line: no control characters, one-spaced, capped."""
    s = SURROGATE.sub("\ufffd", _CONTROL.sub(" ", s))
    s = " ".join(s.split())
    return s[: max(limit, 0)].rstrip()
