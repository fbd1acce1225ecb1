"""The panel's offline form (issue 17): a visitor leaves an email address, recorded as one of
their messages, so the conversation goes on by email on the same ticket."""

from __future__ import annotations

from aiohttp import web

from responder.channels.webchat.answers import answers, bearer, fail, json_object
from responder.channels.webchat.api import LANGUAGES, ChatApi
from responder.wire.webchat.record import CLIENT_ID, VisitorMessage, email_address

FORM_BODY = 1024  # an address, a client id and a language


class OfflineForm:
    def __init__(self, api: ChatApi) -> None:
        self.api = api

    def routes(self) -> list[web.RouteDef]:
        return [web.post(f"{self.api.config.path}/email", self.email)]

    @answers
    async def email(self, request: web.Request) -> web.Response:
        """202 once recorded; deciding then tells staff and answers go there too. Only
        staff's answers are mailed, never the visitor's words: the form cannot make the shop
        send a stranger text of the form's choosing."""
        api = self.api
        opened, who = api.admit(request)
        visitor = api.visitor(opened, bearer(request), who)
        api.limit(request, who, visitor)
        if not api.site.by_email(api.name):
            fail(404, "this chat does not answer by email", who)
        doc = json_object(await api.body(request, FORM_BODY, who), who)
        given, client_id = doc.get("email"), doc.get("client_id")
        address = email_address(given) if isinstance(given, str) else None
        if address is None:
            fail(400, "email: an address like nama@contoh.id", who)
        if not isinstance(client_id, str) or not CLIENT_ID.fullmatch(client_id):
            fail(400, "client_id: 8 to 64 letters, digits, - or _ (a UUID)", who)
        asked = doc.get("language")
        language = asked if asked in LANGUAGES else api.language(visitor)
        now = api.site.clock()
        record = VisitorMessage(visitor, "", client_id, now, language, email=address)
        return await api.record(opened, who, record)
