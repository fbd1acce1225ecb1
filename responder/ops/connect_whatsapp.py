"""`check --connect` for a WhatsApp channel: does Meta take the access token for this phone
number, and what does it say of the number?"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from responder.channels.diagnose import Endpoint
from responder.channels.whatsapp.graph import Graph
from responder.config import WhatsAppChannelConfig
from responder.ops.connect_base import Line, failed, passed

UNREACHABLE = "check api_url, and that this machine can reach it (HTTPS to graph.facebook.com)"


async def check_whatsapp(channel: WhatsAppChannelConfig, config_file: str) -> list[Line]:
    """GET /{phone_number_id} with the token: the number's name, status and quality."""
    url = urlsplit(channel.api_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    at = Endpoint(channel.name, "whatsapp", url.hostname or "", port, config_file=config_file)
    who = f"{channel.name} WhatsApp"
    assert channel.access_token is not None  # loaded with secrets required
    timeout = channel.timeout.total_seconds()
    graph = Graph(
        channel.api_url, channel.phone_number_id, channel.access_token.get_secret_value(), timeout
    )
    try:
        async with asyncio.timeout(timeout):
            number = await graph.number()
    except Exception as exc:
        return [failed(who, exc, at, UNREACHABLE)]
    finally:
        await graph.close()
    shown = number.get("display_phone_number") or channel.phone_number_id
    name = number.get("verified_name") or "no verified name"
    quality = number.get("quality_rating") or "unknown"
    text = f"the access token works for {shown} ({name}), quality rating {quality}"
    return [passed(who, text)]
