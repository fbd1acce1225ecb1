"""The IMAP client reads a response of any length: aioimaplib 2.0.3 recursed once per line
and gave up on a long one (iroco-co/aioimaplib#118)."""

from __future__ import annotations

import asyncio

from responder.channels.email.imap_client import IMAP4

FOLDERS = 5_000  # a read or two of the socket, each far more lines than the recursion limit
SIZES = 20_000  # upstream rescanned the whole answer at every line: 2e8 regex matches


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Just enough of an IMAP server: a greeting, LOGIN, SELECT, and long LIST and FETCH answers."""
    writer.write(b"* OK [CAPABILITY IMAP4rev1] ready\r\n")
    while line := await reader.readline():
        tag, command = line.rstrip().split(b" ", 2)[:2]
        upper = command.upper()
        if upper == b"CAPABILITY":
            writer.write(b"* CAPABILITY IMAP4rev1\r\n")
        elif upper == b"LIST":
            folders = (b'* LIST () "/" "Pelanggan/%d"\r\n' % n for n in range(FOLDERS))
            writer.write(b"".join(folders))
        elif upper == b"SELECT":
            writer.write(b"* %d EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n" % SIZES)
        elif upper == b"UID":
            sizes = (
                b"* %d FETCH (UID %d RFC822.SIZE 512)\r\n" % (n, n) for n in range(1, SIZES + 1)
            )
            writer.write(b"".join(sizes))
        elif upper == b"LOGOUT":
            writer.write(b"* BYE\r\n" + tag + b" OK done\r\n")
            await writer.drain()
            break
        writer.write(tag + b" OK done\r\n")
        await writer.drain()
    writer.close()


async def test_a_list_of_five_thousand_folders_is_read_whole() -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = IMAP4("127.0.0.1", port, timeout=10)
        await client.wait_hello_from_server()
        assert (await client.login("u", "p")).result == "OK"
        response = await asyncio.wait_for(client.list('""', "*"), 10)
        await client.logout()
    finally:
        server.close()
        await server.wait_closed()
    assert response.result == "OK"
    folders = [line for line in response.lines if b"Pelanggan/" in line]
    assert len(folders) == FOLDERS
    assert folders[-1].endswith(b'"Pelanggan/%d"' % (FOLDERS - 1))


async def test_the_sizes_of_twenty_thousand_mails_are_read_in_moments() -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = IMAP4("127.0.0.1", port, timeout=10)
        await client.wait_hello_from_server()
        await client.login("u", "p")
        await client.select("INBOX")
        response = await asyncio.wait_for(client.uid("fetch", "1:*", "(UID RFC822.SIZE)"), 10)
        await client.logout()
    finally:
        server.close()
        await server.wait_closed()
    fetched = [line for line in response.lines if b"FETCH" in line]
    assert len(fetched) == SIZES
    assert fetched[-1] == b"%d FETCH (UID %d RFC822.SIZE 512)" % (SIZES, SIZES)
