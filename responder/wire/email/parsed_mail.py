"""ParsedMail: one inbound mail's fields, made safe, and its headers read on demand."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from functools import cached_property

from responder.domain.message import Attachment
from responder.wire.email.addresses import addr_spec
from responder.wire.email.headers import (
    HeaderIndex,
    content_param,
    content_type,
    decode_header_value,
    header_index,
    raw_items,
)

# A forwarded bounce nests its report one level down: only the top two levels say what the
# message itself is, and no genuine message has more direct parts than this.
_TOP_PARTS = 50


@dataclass(frozen=True)
class ParsedMail:
    """What the pipeline and the guards need from one inbound message, already made safe."""

    message: Message
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_addr: str | None
    from_name: str
    reply_to: tuple[str, ...]
    return_path: str | None
    text: str
    date: datetime | None
    attachments: tuple[Attachment, ...] = ()
    # Every header by lowercased name (headers.header_index), when the parser built it.
    headers: HeaderIndex | None = field(default=None, repr=False, compare=False)

    @cached_property
    def _index(self) -> HeaderIndex:
        # Built once: the guards ask for some thirty header names per message, and scanning
        # every header for each was about half of deciding a plain mail.
        return self.headers if self.headers is not None else header_index(self.message)

    @cached_property
    def _decoded(self) -> dict[str, tuple[str, ...]]:
        return {}

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name` (any case), unfolded and RFC 2047 decoded."""
        key = name.lower()
        found = self._decoded.get(key)
        if found is None:
            found = tuple(decode_header_value(n, v) for n, v in self._index.get(key, ()))
            self._decoded[key] = found
        return found

    def raw_header(self, name: str) -> tuple[str, ...]:
        """Every value of header `name`, unfolded but not decoded: for address parsing."""
        return tuple(v for _, v in self._index.get(name.lower(), ()))

    def header_names(self) -> tuple[str, ...]:
        """The message's header names in order, as the sender spelled them."""
        return tuple(n.strip() for n, _ in raw_items(self.message))

    def first_address(self, name: str) -> str | None:
        """The one valid address in the first `name` header, lowercased; None otherwise."""
        values = self.raw_header(name)
        return addr_spec(values[0]) if values else None

    def part_types(self) -> list[str]:
        """The content types of the message and its direct parts: what the sender put there,
        not what they forward (a forwarded bounce nests its report one level down)."""
        try:
            parts = self.message.get_payload() if self.message.is_multipart() else []
        except Exception:
            parts = []
        if not isinstance(parts, list):
            parts = []
        top = [self.message, *(p for p in parts[:_TOP_PARTS] if isinstance(p, Message))]
        return [content_type(part) for part in top]

    def content_param(self, name: str) -> str:
        """A parameter of the message's own Content-Type, lowercased, "" when absent."""
        return content_param(self.message, name)
