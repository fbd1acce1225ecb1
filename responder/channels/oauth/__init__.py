"""OAuth2 sign-in for mailboxes (XOAUTH2): the saved grant, access tokens, `responder login`.

This module is light; the others load for a channel with `auth: oauth2` (tokens, sasl) or for
`responder login` alone (msal, authlib): a daemon that signs in with passwords pays nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from responder.channels.oauth.tokens import TokenSource
    from responder.config import EmailChannelConfig

    # How the composition root hands a channel its token source, for its config of the
    # moment (a reload may bring another oauth2 block).
    TokensFor = Callable[[EmailChannelConfig], TokenSource | None]

__all__ = ["token_source"]


def token_source(channel: EmailChannelConfig, state_dir: Path) -> TokenSource | None:
    """The access tokens of an email channel that signs in with OAuth2; None otherwise."""
    if not channel.uses_oauth or channel.oauth2 is None:
        return None
    from responder.channels.oauth.tokens import TokenSource
    from responder.config.oauth import token_file

    return TokenSource(channel.name, channel.oauth2, token_file(state_dir, channel.name))
