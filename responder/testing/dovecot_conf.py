"""The throwaway dovecot.conf a development Dovecot runs with; nothing from /etc is used."""

from __future__ import annotations

from pathlib import Path

HOST = "127.0.0.1"


def render_oauth2(introspection_url: str) -> str:
    """The oauth2 passdb's args file (doc.dovecot.org 2.3, "Open Authentication v2.0
    database"): every token is checked by an RFC 7662 introspection POST."""
    return f"""\
introspection_mode = post
introspection_url = {introspection_url}
force_introspection = yes
username_attribute = username
active_attribute = active
active_value = true
"""


def render_config(
    *,
    run_dir: Path,
    base_dir: Path,
    log_path: Path,
    port: int,
    login_user: str,
    internal_user: str,
    internal_group: str,
    extra: str,
    passwd: Path,
    mail_uid: int,
    mail_gid: int,
    home: str,
    oauth2: Path | None = None,
    sent_folder: str | None = "Sent",
    lmtp_port: int | None = None,
) -> str:
    # With oauth2 (the args file of an oauth2 passdb), XOAUTH2 and OAUTHBEARER sign in with a
    # bearer token Dovecot checks at the token-introspection URL; passwords still work for
    # PLAIN and LOGIN (the test helpers use them).
    mechanisms = "plain login xoauth2 oauthbearer" if oauth2 else "plain login"
    password_only = "\n  mechanisms = plain login" if oauth2 else ""
    oauth_passdb = (
        # No auth cache: a revoked token must be refused at the next login, not remembered.
        f"auth_cache_size = 0\npassdb {{\n  driver = oauth2\n"
        f"  mechanisms = xoauth2 oauthbearer\n  args = {oauth2}\n}}\n"
        if oauth2
        else ""
    )
    # The folder marked \Sent (RFC 6154 SPECIAL-USE) once it exists; None marks none.
    sent = f'  mailbox "{sent_folder}" {{\n    special_use = \\Sent\n  }}\n' if sent_folder else ""
    # LMTP (RFC 2033), as a mail server hands Dovecot its mail: the benchmark's burst.
    lmtp = (
        f"service lmtp {{\n  inet_listener lmtp {{\n    address = {HOST}\n"
        f"    port = {lmtp_port}\n  }}\n}}\n"
        if lmtp_port
        else ""
    )
    return f"""\
# Throwaway config written by responder.testing; nothing from /etc/dovecot is used.
base_dir = {run_dir}
state_dir = {base_dir / "state"}
log_path = {log_path}
info_log_path = {log_path}
listen = {HOST}
protocols = imap{" lmtp" if lmtp_port else ""}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
# Tests of refused logins should not wait for the failure delay.
auth_failure_delay = 0
first_valid_uid = 0
first_valid_gid = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
# The benchmark opens many sessions for one user from one address.
mail_max_userip_connections = 1000
mail_location = maildir:~/Maildir
{extra}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \\Drafts
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
{sent}  mailbox Trash {{
    special_use = \\Trash
  }}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}{password_only}
}}
{oauth_passdb}userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={home}
}}

# Moving anvil's penalty socket away makes auth run without the penalty that
# otherwise delays every login from 127.0.0.1 by 4-15 s after one failure.
service anvil {{
  unix_listener anvil-auth-penalty {{
    path = auth-penalty-disabled
  }}
}}

service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
{lmtp}"""
