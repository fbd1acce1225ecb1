"""The survey pages a one-click link opens: GET shows the choice, only a POST records it."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from responder.core.csat.tokens import TokenExpired, TokenInvalid, verify
from responder.core.settings import Settings
from responder.domain.csat import SurveyAnswer, SurveyInfo
from responder.services.csat.service import SurveyService

log = logging.getLogger(__name__)

COMMENT_CHARS = 2000
# Pages carry no script and load nothing: a scanner that opens a link (FreeScout #1743) sees
# a form, and a form is only ever submitted by a person.
CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"

WORDS = {
    "en": {
        "title": "How did we do?",
        "ask": "How did we do with your request {ref}?",
        "scale": "1 is poor, 5 is excellent.",
        "nps": "How likely are you to recommend {business} to a friend? (0-10, optional)",
        "comment": "Anything you would like to tell us? (optional)",
        "send": "Send my rating",
        "thanks": "Thank you! Your rating of {rating}/5 for {ref} is recorded.",
        "expired": "This survey link has expired. You can still reply to our email.",
        "unknown": "This survey link is not valid.",
        "pick": "Please choose a rating from 1 to 5.",
    },
    "id": {
        "title": "Bagaimana pelayanan kami?",
        "ask": "Bagaimana pelayanan kami untuk permintaan Anda {ref}?",
        "scale": "1 buruk, 5 sangat baik.",
        "nps": "Seberapa besar kemungkinan Anda merekomendasikan {business} kepada teman? "
        "(0-10, boleh dikosongkan)",
        "comment": "Ada yang ingin Anda sampaikan? (boleh dikosongkan)",
        "send": "Kirim nilai saya",
        "thanks": "Terima kasih! Nilai {rating}/5 Anda untuk {ref} sudah kami catat.",
        "expired": "Tautan survei ini sudah kedaluwarsa. Anda tetap bisa membalas email kami.",
        "unknown": "Tautan survei ini tidak berlaku.",
        "pick": "Mohon pilih nilai 1 sampai 5.",
    },
}


class SurveyPages:
    """GET /s/{token}?r=4 shows the form with 4 chosen; POST /s/{token} records the answer."""

    def __init__(
        self,
        service: SurveyService,
        settings: Callable[[], Settings],
        clock: Callable[[], datetime],
    ) -> None:
        self._service, self._settings, self._clock = service, settings, clock

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/s/{token}", self._show), web.post("/s/{token}", self._submit)]

    async def _survey(self, request: web.Request) -> SurveyInfo | web.Response:
        token = request.match_info["token"]
        language = _language(request)
        try:
            survey_id = verify(self._service.secret, token, self._clock())
        except TokenExpired:
            return _page(language, _words(language)["expired"], status=410)
        except TokenInvalid:
            return _page(language, _words(language)["unknown"], status=404)
        info = await self._service.survey(survey_id)
        if info is None or self._settings().csat is None:
            return _page(language, _words(language)["unknown"], status=404)
        return info

    async def _show(self, request: web.Request) -> web.Response:
        found = await self._survey(request)
        if isinstance(found, web.Response):
            return found
        chosen = _number(request.query.get("r"), 1, 5) or found.rating
        return _page(found.language, self._form(found, chosen))

    async def _submit(self, request: web.Request) -> web.Response:
        found = await self._survey(request)
        if isinstance(found, web.Response):
            return found
        form = await request.post()
        rating = _number(_field(form.get("rating")), 1, 5)
        if rating is None:
            return _page(found.language, self._form(found, None, _words(found.language)["pick"]))
        nps = _number(_field(form.get("nps")), 0, 10)
        comment = _field(form.get("comment")).strip()[:COMMENT_CHARS]
        answer = SurveyAnswer(found.id, rating, nps, comment, "link")
        if not await self._service.answer(answer):
            return _page(found.language, _words(found.language)["unknown"], status=404)
        log.info("survey %d answered through its page: %d/5", found.id, rating)
        text = _words(found.language)["thanks"].format(rating=rating, ref=found.ref)
        return _page(found.language, f"<p>{html.escape(text)}</p>")

    def _form(self, info: SurveyInfo, chosen: int | None, error: str = "") -> str:
        words, settings = _words(info.language), self._settings()
        profile = settings.profiles.get(info.channel)
        business = (profile.display_name or profile.address) if profile else ""
        esc = html.escape
        parts = [f"<p>{esc(words['ask'].format(ref=info.ref))}<br><small>{esc(words['scale'])}"]
        parts.append("</small></p>")
        if error:
            parts.append(f'<p class="error">{esc(error)}</p>')
        parts.append('<form method="post"><p class="scale">')
        for n in range(1, 6):
            checked = " checked" if n == chosen else ""
            parts.append(
                f'<label><input type="radio" name="rating" value="{n}"{checked}> {n}</label>'
            )
        parts.append("</p>")
        if settings.csat is not None and settings.csat.nps:
            parts.append(f"<p>{esc(words['nps'].format(business=business))}</p><p class='scale'>")
            for n in range(11):
                parts.append(f'<label><input type="radio" name="nps" value="{n}"> {n}</label>')
            parts.append("</p>")
        parts.append(f"<p><label>{esc(words['comment'])}<br>")
        parts.append(f'<textarea name="comment" rows="4" maxlength="{COMMENT_CHARS}"></textarea>')
        parts.append(f'</label></p><p><button type="submit">{esc(words["send"])}</button></p>')
        parts.append("</form>")
        return "".join(parts)


def _page(language: str, body: str, status: int = 200) -> web.Response:
    words = _words(language)
    text = (
        f'<!DOCTYPE html><html lang="{html.escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(words['title'])}</title><style>"
        "body{font-family:sans-serif;max-width:34em;margin:2em auto;padding:0 1em;"
        "line-height:1.5}.scale label{display:inline-block;margin:0 .6em .4em 0}"
        "textarea{width:100%}.error{color:#b00}button{padding:.5em 1.2em}</style></head>"
        f"<body><h1>{html.escape(words['title'])}</h1>{body}</body></html>"
    )
    return web.Response(
        status=status,
        text=text,
        content_type="text/html",
        headers={"Content-Security-Policy": CSP},
    )


def _words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def _language(request: web.Request) -> str:
    """Before the survey is known: the browser's preference, Indonesian or English."""
    wanted = request.headers.get("Accept-Language", "").lower()
    return "id" if wanted.startswith("id") else "en"


def _field(value: object) -> str:
    return value if isinstance(value, str) else ""


def _number(value: str | None, low: int, high: int) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 2:
        return None
    number = int(value)
    return number if low <= number <= high else None
