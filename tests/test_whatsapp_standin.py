"""The WhatsApp Cloud API stand-in over real HTTP, and the webhook bodies tests post with it."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from responder.testing import GraphStandIn, SentWhatsApp, Webhooks, post_webhook, sign
from responder.testing import whatsapp_messages as m
from responder.testing.whatsapp_webhooks import encode, verify_subscription

CUSTOMER = "6281234567890"
SECRET = "app-secret-for-tests"


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    with GraphStandIn() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def auth(graph: GraphStandIn, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or graph.token}"}


async def send(
    http: aiohttp.ClientSession,
    graph: GraphStandIn,
    payload: dict[str, Any],
    token: str | None = None,
) -> tuple[int, dict[str, Any], str | None]:
    url = f"{graph.base_url}/{graph.phone_number_id}/messages"
    async with http.post(url, json=payload, headers=auth(graph, token)) as response:
        return response.status, await response.json(), response.headers.get("Retry-After")


def text(body: str, to: str = CUSTOMER, **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
        **extra,
    }


async def test_send_is_recorded_and_answered_in_metas_shape(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    payload = text("Pesanan Anda sedang dikirim", to="+62 812-3456-7890")
    payload["context"] = {"message_id": "wamid.customer-question"}
    status, body, _ = await send(http, graph, payload)
    assert status == 200
    wamid = body["messages"][0]["id"]
    assert body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+62 812-3456-7890", "wa_id": CUSTOMER}],
        "messages": [{"id": wamid}],
    }
    assert wamid.startswith("wamid.")
    [sent] = graph.wait_for_sent(1, timeout=1)
    assert sent == SentWhatsApp(
        graph.phone_number_id, "+62 812-3456-7890", "text", payload, wamid, sent.at
    )
    assert graph.sent_to(CUSTOMER) == [sent]

    _, again, _ = await send(http, graph, text("Kedua"))
    assert again["messages"][0]["id"] != wamid  # every send has its own id


def template(name: str, code: str, *components: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "language": {"code": code}}
    if components:
        body["components"] = list(components)
    return {"messaging_product": "whatsapp", "to": CUSTOMER, "type": "template", "template": body}


def variables(*texts: str) -> dict[str, Any]:
    return {"type": "body", "parameters": [{"type": "text", "text": t} for t in texts]}


def quick_reply(index: Any, payload: str) -> dict[str, Any]:
    parameters = [{"type": "payload", "payload": payload}]
    return {"type": "button", "sub_type": "quick_reply", "index": index, "parameters": parameters}


async def test_template_send_is_accepted_with_message_status(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    graph.approve_template("ticket_update", "id")
    graph.approve_template("toko_survey_v1", "en_US", body=2, quick_replies=5)
    status, body, _ = await send(http, graph, template("ticket_update", "id"))
    assert status == 200
    assert body["messages"][0]["message_status"] == "accepted"
    rated = template(
        "toko_survey_v1",
        "en_US",
        variables("Budi", "ABC234"),
        quick_reply("0", "csat:7:r1"),
        quick_reply(4, "csat:7:r5"),  # Meta takes the index as text or as a number
    )
    status, body, _ = await send(http, graph, rated)
    assert (status, body["messages"][0]["message_status"]) == (200, "accepted")
    assert [s.type for s in graph.sent] == ["template", "template"]
    assert graph.sent[1].payload == rated


@pytest.mark.parametrize(
    ("payload", "status", "code", "details"),
    [
        (
            template("toko_survey_v2", "id"),
            404,
            132001,
            "template name (toko_survey_v2) does not exist in id",
        ),
        (
            template("toko_survey_v1", "en", variables("Budi", "ABC234")),
            404,
            132001,
            "template name (toko_survey_v1) does not exist in en",
        ),
        (
            template("toko_survey_v1", "id", variables("Budi")),
            400,
            132000,
            "body: number of localizable_params (1) does not match the expected number of "
            "params (2)",
        ),
        (
            template("toko_survey_v1", "id", variables("Budi\nSantoso", "ABC234")),
            400,
            132018,
            "Param text cannot have new-line/tab characters or more than 4 consecutive spaces",
        ),
        (
            template("toko_survey_v1", "id", variables("Budi", "ABC234"), quick_reply("3", "x")),
            400,
            131009,
            "Button at index 3 is not a quick-reply button of template toko_survey_v1.",
        ),
        (
            template("toko_survey_v1", "id", variables("Budi", "ABC234"), quick_reply("0", "")),
            400,
            131008,
            "The parameter payload is required.",
        ),
    ],
    ids=["unknown", "no-translation", "variables", "line-break", "no-such-button", "no-payload"],
)
async def test_a_template_send_meta_refuses_is_answered_with_its_error(
    graph: GraphStandIn,
    http: aiohttp.ClientSession,
    payload: dict[str, Any],
    status: int,
    code: int,
    details: str,
) -> None:
    graph.approve_template("toko_survey_v1", "id", body=2, quick_replies=3)
    got, body, _ = await send(http, graph, payload)
    assert (got, body["error"]["code"], body["error"]["error_data"]["details"]) == (
        status,
        code,
        details,
    )
    assert body["error"]["message"].startswith(f"(#{code}) ")
    assert graph.sent == []


@pytest.mark.parametrize("token", ["wrong-token", None])
async def test_a_bad_token_is_refused_with_oauth_190(
    graph: GraphStandIn, http: aiohttp.ClientSession, token: str | None
) -> None:
    url = f"{graph.base_url}/{graph.phone_number_id}/messages"
    headers = {} if token is None else auth(graph, token)
    async with http.post(url, json=text("hi"), headers=headers) as response:
        status, body = response.status, await response.json()
    assert status == 401
    assert body["error"]["code"] == 190 and body["error"]["type"] == "OAuthException"
    assert body["error"]["fbtrace_id"]
    assert graph.sent == []


async def test_invalid_token_switch_refuses_the_right_token(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    graph.invalid_token = True
    status, body, _ = await send(http, graph, text("hi"))
    assert (status, body["error"]["code"]) == (401, 190)
    graph.invalid_token = False
    assert (await send(http, graph, text("hi")))[0] == 200


@pytest.mark.parametrize(
    ("code", "http_status", "wanted_code"),
    [
        (130429, 429, 130429),
        (131056, 429, 131056),
        (131047, 400, 131047),
        (131051, 400, 131051),
        (190, 401, 190),
        (500, 500, 131000),
        (503, 503, 131016),
    ],
)
async def test_injected_faults_answer_as_graph_does(
    graph: GraphStandIn,
    http: aiohttp.ClientSession,
    code: int,
    http_status: int,
    wanted_code: int,
) -> None:
    graph.fail_next(code, times=2)
    for _ in range(2):
        status, body, _ = await send(http, graph, text("hi"))
        assert status == http_status
        error = body["error"]
        assert error["code"] == wanted_code and error["type"] == "OAuthException"
        assert f"#{wanted_code}" in error["message"] or wanted_code == 190
        if wanted_code != 190:  # Graph-level token errors carry no WhatsApp error_data
            assert error["error_data"]["messaging_product"] == "whatsapp"
            assert error["error_data"]["details"]
    assert graph.sent == []
    assert (await send(http, graph, text("hi")))[0] == 200  # `times` used up
    assert [c.status for c in graph.calls] == [http_status, http_status, 200]


async def test_fault_status_override_and_retry_after(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    graph.fail_next(130429, http_status=400, retry_after=7)
    status, body, retry_after = await send(http, graph, text("hi"))
    assert (status, body["error"]["code"], retry_after) == (400, 130429, "7")
    status, _, retry_after = await send(http, graph, text("hi"))
    assert (status, retry_after) == (200, None)


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (text("x" * 4097), 100),
        (text("   "), 100),
        ({**text("hi"), "messaging_product": "sms"}, 100),
        ({k: v for k, v in text("hi").items() if k != "to"}, 100),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "image", "image": {}}, 100),
        ({"messaging_product": "whatsapp", "to": CUSTOMER, "type": "poll", "poll": {}}, 100),
        ({**text("hi"), "context": {"id": "wamid.x"}}, 100),
    ],
    ids=["too-long", "blank", "product", "no-to", "no-media", "type", "context"],
)
async def test_payloads_meta_refuses_get_400(
    graph: GraphStandIn, http: aiohttp.ClientSession, payload: dict[str, Any], code: int
) -> None:
    status, body, _ = await send(http, graph, payload)
    assert (status, body["error"]["code"]) == (400, code)
    assert graph.sent == []


async def test_text_of_exactly_4096_characters_is_accepted(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    status, _, _ = await send(http, graph, text("é" * 4096))
    assert status == 200
    assert len(graph.sent[0].payload["text"]["body"]) == 4096


def interactive(kind: str, action: dict[str, Any]) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": CUSTOMER,
        "type": "interactive",
        "interactive": {"type": kind, "body": {"text": "Pilih:"}, "action": action},
    }


def buttons(*titles: str) -> dict[str, Any]:
    return {
        "buttons": [
            {"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)
        ]
    }


async def test_interactive_limits(graph: GraphStandIn, http: aiohttp.ClientSession) -> None:
    ok = await send(http, graph, interactive("button", buttons("Ya", "Tidak")))
    assert ok[0] == 200
    four = await send(http, graph, interactive("button", buttons("a", "b", "c", "d")))
    assert four[0] == 400
    long_title = await send(http, graph, interactive("button", buttons("x" * 21)))
    assert (long_title[0], long_title[1]["error"]["code"]) == (400, 131009)
    rows = [{"id": f"r{i}", "title": f"Row {i}"} for i in range(11)]
    eleven = {"button": "Menu", "sections": [{"title": "S", "rows": rows}]}
    assert (await send(http, graph, interactive("list", eleven)))[0] == 400
    ten = {"button": "Menu", "sections": [{"title": "S", "rows": rows[:10]}]}
    assert (await send(http, graph, interactive("list", ten)))[0] == 200
    assert [s.type for s in graph.sent] == ["interactive", "interactive"]


async def test_media_reaction_and_sticker_sends(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    base = {"messaging_product": "whatsapp", "to": CUSTOMER}
    sends = [
        {**base, "type": "document", "document": {"link": "https://x/y.pdf", "caption": "Invoice"}},
        {**base, "type": "sticker", "sticker": {"id": "123"}},
        {**base, "type": "reaction", "reaction": {"message_id": "wamid.a", "emoji": "\U0001f44d"}},
    ]
    for payload in sends:
        assert (await send(http, graph, payload))[0] == 200
    captioned_sticker = {**base, "type": "sticker", "sticker": {"id": "1", "caption": "no"}}
    assert (await send(http, graph, captioned_sticker))[0] == 400
    assert [s.type for s in graph.sent] == ["document", "sticker", "reaction"]


async def test_wrong_phone_number_id_is_an_unknown_object(
    graph: GraphStandIn, http: aiohttp.ClientSession
) -> None:
    url = f"{graph.base_url}/999/messages"
    async with http.post(url, json=text("hi"), headers=auth(graph)) as response:
        status, body = response.status, await response.json()
    assert (status, body["error"]["code"], body["error"]["error_subcode"]) == (400, 100, 33)


async def test_media_round_trip(graph: GraphStandIn, http: aiohttp.ClientSession) -> None:
    data = b"%PDF-1.4 invoice bytes"
    media_id = graph.add_media(data, "application/pdf", "invoice.pdf")
    async with http.get(f"{graph.base_url}/{media_id}", headers=auth(graph)) as response:
        assert response.status == 200
        info = await response.json()
    assert info["id"] == media_id and info["messaging_product"] == "whatsapp"
    assert info["mime_type"] == "application/pdf" and info["file_size"] == len(data)
    assert info["sha256"] == hashlib.sha256(data).hexdigest()

    async with http.get(info["url"]) as response:  # no token: the lookaside host refuses
        assert response.status == 401
    async with http.get(info["url"], headers=auth(graph)) as response:
        assert response.status == 200 and response.content_type == "application/pdf"
        assert await response.read() == data
    assert graph.downloads == [media_id]

    graph.forget_media(media_id)
    async with http.get(info["url"], headers=auth(graph)) as response:
        assert response.status == 404
    async with http.get(f"{graph.base_url}/{media_id}", headers=auth(graph)) as response:
        assert response.status == 400 and (await response.json())["error"]["code"] == 100


async def test_media_upload_then_download(graph: GraphStandIn, http: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData()
    form.add_field("messaging_product", "whatsapp")
    form.add_field("type", "image/png")
    form.add_field("file", b"\x89PNG fake", filename="a.png", content_type="image/png")
    url = f"{graph.base_url}/{graph.phone_number_id}/media"
    async with http.post(url, data=form, headers=auth(graph)) as response:
        assert response.status == 200
        media_id = (await response.json())["id"]
    assert graph.media[media_id].data == b"\x89PNG fake"
    assert graph.media[media_id].mime_type == "image/png"


async def test_media_faults(graph: GraphStandIn, http: aiohttp.ClientSession) -> None:
    media_id = graph.add_media(b"x", "image/jpeg")
    graph.fail_next(503, endpoint="media")
    async with http.get(f"{graph.base_url}/{media_id}", headers=auth(graph)) as response:
        assert response.status == 503
    assert (await send(http, graph, text("hi")))[0] == 200  # messages were not affected


# -- webhooks -------------------------------------------------------------------------------


def value_of(body: dict[str, Any]) -> dict[str, Any]:
    assert body["object"] == "whatsapp_business_account"
    [entry] = body["entry"]
    [change] = entry["changes"]
    assert change["field"] == "messages"
    value: dict[str, Any] = change["value"]
    assert value["messaging_product"] == "whatsapp"
    return value


def test_text_webhook_shape_and_signature_verifies() -> None:
    hooks = Webhooks(phone_number_id="111")
    body = hooks.text(CUSTOMER, "Halo, pesanan saya belum sampai", name="Budi", context="wamid.o")
    value = value_of(body)
    assert value["metadata"] == {"display_phone_number": "15550783881", "phone_number_id": "111"}
    assert value["contacts"] == [{"profile": {"name": "Budi"}, "wa_id": CUSTOMER}]
    [message] = value["messages"]
    assert message["from"] == CUSTOMER and message["type"] == "text"
    assert message["text"] == {"body": "Halo, pesanan saya belum sampai"}
    assert message["id"].startswith("wamid.") and message["timestamp"].isdigit()
    assert message["context"] == {"from": "15550783881", "id": "wamid.o"}

    raw = encode(body)
    # Meta signs escaped unicode: a receiver that re-serialises the JSON breaks the signature.
    assert raw.isascii() and json.loads(raw) == body
    accented = encode(hooks.text(CUSTOMER, "café"))
    assert b"caf\\u00e9" in accented
    signature = sign(raw, SECRET)
    expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert not hmac.compare_digest(sign(raw + b" ", SECRET), expected)
    assert not hmac.compare_digest(sign(raw, "other-secret"), expected)


def test_message_builders_use_metas_field_names() -> None:
    hooks = Webhooks()
    cases = {
        "button": hooks.button_reply(CUSTOMER, "yes", "Ya"),
        "list": hooks.list_reply(CUSTOMER, "r1", "Refund", "Uang kembali"),
        "quick": hooks.quick_reply(CUSTOMER, "STOP", "Berhenti"),
        "doc": hooks.media(
            CUSTOMER, "document", "55", "application/pdf", "ab", caption="c", filename="f.pdf"
        ),
        "voice": hooks.media(CUSTOMER, "audio", "56", "audio/ogg", "cd", voice=True),
        "loc": hooks.location(CUSTOMER, -6.2, 106.8, place="Monas", address="Jakarta"),
        "vcard": hooks.contacts(CUSTOMER, m.contact("Siti Aminah", "+62 811", wa_id="62811")),
        "react": hooks.reaction(CUSTOMER, "wamid.ours", "\u2764"),
        "unreact": hooks.reaction(CUSTOMER, "wamid.ours", None),
        "unsupported": hooks.unsupported(CUSTOMER),
    }
    msg = {key: value_of(body)["messages"][0] for key, body in cases.items()}
    assert msg["button"]["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "yes", "title": "Ya"},
    }
    assert msg["list"]["interactive"]["list_reply"] == {
        "id": "r1",
        "title": "Refund",
        "description": "Uang kembali",
    }
    assert msg["quick"]["type"] == "button"
    assert msg["quick"]["button"] == {"payload": "STOP", "text": "Berhenti"}
    assert msg["doc"]["document"] == {
        "mime_type": "application/pdf",
        "sha256": "ab",
        "id": "55",
        "caption": "c",
        "filename": "f.pdf",
    }
    voice = {"mime_type": "audio/ogg", "sha256": "cd", "id": "56", "voice": True}
    assert msg["voice"]["audio"] == voice
    assert msg["loc"]["location"] == {
        "latitude": -6.2,
        "longitude": 106.8,
        "name": "Monas",
        "address": "Jakarta",
    }
    card = msg["vcard"]["contacts"][0]
    assert card["name"]["formatted_name"] == "Siti Aminah"
    assert card["phones"] == [{"phone": "+62 811", "type": "CELL", "wa_id": "62811"}]
    assert msg["react"]["reaction"] == {"message_id": "wamid.ours", "emoji": "\u2764"}
    assert msg["unreact"]["reaction"] == {"message_id": "wamid.ours"}
    assert msg["unsupported"]["type"] == "unsupported"
    assert msg["unsupported"]["errors"][0]["code"] == 131051
    assert "unsupported" not in msg["unsupported"]


def test_status_webhooks() -> None:
    hooks = Webhooks()
    delivered = value_of(hooks.status("wamid.ours", "delivered", CUSTOMER))
    assert "contacts" not in delivered and "messages" not in delivered
    [item] = delivered["statuses"]
    assert (item["id"], item["status"]) == ("wamid.ours", "delivered")
    assert item["recipient_id"] == CUSTOMER
    assert item["timestamp"].isdigit() and item["conversation"]["origin"]["type"] == "service"
    assert item["pricing"]["billable"] is True

    read = value_of(hooks.status("wamid.ours", "read", CUSTOMER))["statuses"][0]
    assert "conversation" not in read and "errors" not in read

    failed = hooks.failed("wamid.ours", CUSTOMER, 131047, "Re-engagement message", "24h passed")
    [item] = value_of(failed)["statuses"]
    assert item["status"] == "failed"
    [error] = item["errors"]
    assert error["code"] == 131047 and error["title"] == error["message"]
    assert error["error_data"] == {"details": "24h passed"}


class Receiver:
    """A tiny webhook endpoint that checks the signature the way a channel must."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        if request.method == "GET":
            if request.query.get("hub.verify_token") != "verify-me":
                return web.Response(status=403)
            return web.Response(text=request.query["hub.challenge"])
        raw = await request.read()
        given = request.headers.get("X-Hub-Signature-256", "")
        if not hmac.compare_digest(given, sign(raw, SECRET)):
            return web.Response(status=401, text="bad signature")
        self.bodies.append(json.loads(raw))
        return web.Response(text="EVENT_RECEIVED")


async def test_post_webhook_is_signed_and_refused_when_the_signature_is_wrong() -> None:
    receiver = Receiver()
    app = web.Application()
    app.router.add_route("*", "/webhook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        url = f"http://127.0.0.1:{port}/webhook"
        body = Webhooks().text(CUSTOMER, "Café ☕ tutup jam berapa?")
        assert await asyncio.to_thread(post_webhook, url, body, SECRET) == (200, "EVENT_RECEIVED")
        assert receiver.bodies == [body]
        bad = await asyncio.to_thread(post_webhook, url, body, SECRET, signature="sha256=00")
        unsigned = await asyncio.to_thread(post_webhook, url, body, SECRET, signature="")
        assert bad[0] == 401 and unsigned[0] == 401
        assert len(receiver.bodies) == 1
        handshake = await asyncio.to_thread(verify_subscription, url, "verify-me", "42")
        assert handshake == (200, "42")
    finally:
        await runner.cleanup()


def test_wait_for_sent_times_out_and_wakes(graph: GraphStandIn) -> None:
    with pytest.raises(TimeoutError):
        graph.wait_for_sent(1, timeout=0.05)

    def post() -> None:
        asyncio.run(_post_once(graph))

    sender = threading.Thread(target=post)
    sender.start()
    assert [s.type for s in graph.wait_for_sent(1, timeout=5)] == ["text"]
    sender.join()


async def _post_once(graph: GraphStandIn) -> None:
    async with aiohttp.ClientSession() as session:
        await send(session, graph, text("from another thread"))
