"""The installed-app sign-in (RFC 8252): a browser approves, the answer comes back to a loopback
address, with PKCE (RFC 7636) so an intercepted code is useless to anyone else.

From a VPS the browser is usually on another computer: after approving it shows "cannot
connect" at http://127.0.0.1:PORT/?code=..., and the admin pastes that address here. When the
browser runs on this machine, the listener takes the answer itself.
"""

from __future__ import annotations

import http.server
import queue
import threading
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from responder.config.oauth import OAuth2Config
from responder.errors import LoginFailed

WAIT_SECONDS = 15 * 60
_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>responder</title>"
    b"<p>Signed in. You can close this tab and go back to the terminal.</p>"
)


def browser_flow(oauth: OAuth2Config, account: str, stdin: TextIO, out: TextIO) -> dict[str, Any]:
    # authlib builds the request (state, PKCE) and checks the answer; loaded for login only
    # (with requests, which msal brings too).
    import requests
    from authlib.common.errors import AuthlibBaseError
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    authorize_url, token_url, _ = oauth.endpoints
    assert authorize_url is not None
    answers: queue.Queue[str] = queue.Queue()
    server = _listener(answers)
    redirect = f"http://127.0.0.1:{server.server_address[1]}/"
    secret = oauth.client_secret.get_secret_value() if oauth.client_secret is not None else None
    scopes = list(oauth.mail_scopes)
    extra: dict[str, str] = {}
    if oauth.provider == "google":
        # openid email: the ID token names the account; offline + consent: a refresh token
        # every time (developers.google.com/identity/protocols/oauth2/native-app).
        scopes += ["openid", "email"]
        extra = {"access_type": "offline", "prompt": "consent", "login_hint": account}
    client = OAuth2Session(
        oauth.client_id,
        secret,
        scope=" ".join(scopes),
        redirect_uri=redirect,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_post" if secret else "none",
    )
    verifier = generate_token(64)
    url, state = client.create_authorization_url(authorize_url, code_verifier=verifier, **extra)
    print(f"1. Open this address in a browser and sign in as {account}:", file=out)
    print(f"\n{url}\n", file=out)
    print(
        "2. After you allow access, the browser goes to an address starting with\n"
        f"   {redirect}\n"
        "   - in a browser on this computer, that finishes the sign-in by itself;\n"
        '   - on another computer it shows "This site can\'t be reached": copy the whole\n'
        "     address from its address bar, paste it here and press Enter.",
        file=out,
        flush=True,
    )
    threading.Thread(target=_read_pasted, args=(stdin, answers, out), daemon=True).start()
    try:
        answer = answers.get(timeout=WAIT_SECONDS)
    except queue.Empty:
        raise LoginFailed("no answer from the browser within 15 minutes; run login again") from None
    finally:
        server.shutdown()
        server.server_close()
    params = parse_qs(urlsplit(answer).query)
    if "error" in params:
        detail = params.get("error_description", [""])[0]
        raise LoginFailed(f"the sign-in was not allowed: {params['error'][0]} {detail}".strip())
    if params.get("state", [""])[0] != state:
        raise LoginFailed("that address is from another sign-in attempt; use the newest one")
    try:
        with client:
            token: dict[str, Any] = dict(
                client.fetch_token(token_url, authorization_response=answer, code_verifier=verifier)
            )
    except AuthlibBaseError as exc:
        raise LoginFailed(f"the sign-in service refused the code: {exc}") from None
    except requests.RequestException as exc:
        raise LoginFailed(f"cannot reach {token_url}: {exc}") from None
    return token


def _listener(answers: queue.Queue[str]) -> http.server.HTTPServer:
    """The loopback redirect target: takes the browser's request carrying code or error."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            if "code" not in query and "error" not in query:
                self.send_error(404)  # a favicon or a stray visitor
                return
            answers.put(f"http://127.0.0.1:{server.server_port}{self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(_DONE_PAGE)))
            self.end_headers()
            self.wfile.write(_DONE_PAGE)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line holds the code: print nothing

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _read_pasted(stdin: TextIO, answers: queue.Queue[str], out: TextIO) -> None:
    """Lines the admin pastes: the browser's final address (code= or error= in it)."""
    for line in iter(stdin.readline, ""):
        text = line.strip()
        if text.startswith("127.0.0.1:"):  # copied without its http://
            text = f"http://{text}"
        if "code=" in text or "error=" in text:
            answers.put(text)
            return
        if text:
            print(
                "That is not the address from the browser: it has code= in it. Paste the "
                "whole address from the address bar.",
                file=out,
                flush=True,
            )
