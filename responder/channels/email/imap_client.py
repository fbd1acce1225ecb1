"""aioimaplib's IMAP4 client, with its response reader made a loop instead of a recursion."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Sequence
from typing import Any

import aioimaplib
from aioimaplib.aioimaplib import CRLF, Command, FetchCommand, IncompleteRead, literal_data_re

LineHandler = Callable[[bytes, Any], Any]


def response_text(lines: Sequence[object], limit: int = 300) -> str:
    """What a server said in a response's lines, for an error message: text, cut short."""
    parts = [bytes(x).decode("utf-8", "replace") for x in lines if isinstance(x, bytes | bytearray)]
    return " ".join(parts)[:limit] or "no detail"


class _FetchCommand(FetchCommand):  # type: ignore[misc]
    """Upstream's FetchCommand rescans every line of its response each time the reader asks
    whether a FETCH item is complete, once per line: a size check of 500 UIDs took 125,000
    regex matches. The same answer kept up line by line: parentheses still open in the
    response item that began at the last "n FETCH (" line (literals are not counted)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counted = 0
        self._open = 0

    def wait_data(self) -> bool:
        lines = self._resp_lines
        for index in range(self._counted, len(lines)):
            line = lines[index]
            if isinstance(line, bytes):
                if self.FETCH_MESSAGE_DATA_RE.match(line):
                    self._open = 0
                self._open += line.count(b"(") - line.count(b")")
        self._counted = len(lines)
        return bool(self._open)


class _Protocol(aioimaplib.IMAP4ClientProtocol):  # type: ignore[misc]
    """aioimaplib 2.0.3 reads a response by recursing once per line, each level keeping its
    own copy of the rest of the buffer: a FETCH of 100 small mails held ~14 MB at its peak
    (half the daemon's memory budget for a burst), and 1,000 lines exceed Python's recursion
    limit (iroco-co/aioimaplib#118; the fix, PR #119, is not released), and each line copied
    the rest of the buffer, so the time grew with the square of the lines. The same steps in
    a loop over one buffer: each line and literal is copied once."""

    incomplete_line: bytes
    current_command: Any

    async def fetch(
        self, message_set: str, message_parts: str, by_uid: bool = False, timeout: Any = None
    ) -> Any:
        prefix = "UID" if by_uid else ""
        command = _FetchCommand(
            self.new_tag(),
            message_set,
            message_parts,
            prefix=prefix,
            loop=self.loop,
            timeout=timeout,
        )
        return await self.execute(command)

    def data_received(self, d: bytes) -> None:
        # Upstream also formats every buffer into a debug line, logged or not.
        try:
            self._handle_responses(
                self.incomplete_line + d, self._handle_line, self.current_command
            )
            self.incomplete_line = b""
            self.current_command = None
        except IncompleteRead as incomplete:
            self.current_command = incomplete.cmd
            self.incomplete_line = incomplete.data

    def _handle_responses(
        self, data: bytes, line_handler: LineHandler, current_cmd: Any = None
    ) -> None:
        pos, size = 0, len(data)
        while True:
            if pos == size:
                if self.pending_sync_command is not None:
                    self.pending_sync_command.flush()
                if current_cmd is not None and current_cmd.wait_data():
                    raise IncompleteRead(current_cmd)
                return
            if current_cmd is not None and current_cmd.wait_literal_data():
                # Only the literal's own bytes: upstream hands over the whole rest of the
                # buffer and gets a copy of what is left back, once per literal.
                need = current_cmd._expected_size - len(current_cmd._resp_literal_data)
                current_cmd.append_literal_data(data[pos : pos + need])
                pos = min(pos + need, size)
                if current_cmd.wait_literal_data():
                    raise IncompleteRead(current_cmd)
                continue
            end = data.find(CRLF, pos)
            if end < 0:
                raise IncompleteRead(current_cmd, data[pos:])
            line, pos = data[pos:end], end + len(CRLF)
            cmd = line_handler(line, current_cmd)
            begin_literal = literal_data_re.match(line)
            if begin_literal:
                if cmd is None:
                    cmd = Command("NIL", "unused")
                cmd.begin_literal_data(int(begin_literal.group("size")))
                current_cmd = cmd
            elif cmd is not None and cmd.wait_data():
                current_cmd = cmd
            else:
                current_cmd = None


class IMAP4(aioimaplib.IMAP4):  # type: ignore[misc]
    """aioimaplib.IMAP4 reading its responses with _Protocol."""

    def create_client(
        self,
        host: str,
        port: int,
        loop: asyncio.AbstractEventLoop | None,
        conn_lost_cb: Callable[[Exception | None], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        local_loop = loop if loop is not None else asyncio.get_running_loop()
        self.protocol = _Protocol(local_loop, conn_lost_cb)
        self._client_task = local_loop.create_task(
            local_loop.create_connection(lambda: self.protocol, host, port, ssl=ssl_context)
        )
