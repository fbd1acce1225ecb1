"""The throwaway dovecot.conf a development Dovecot runs with; nothing from /etc is used."""

from __future__ import annotations

from pathlib import Path

HOST = "127.0.0.1"


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
) -> str:
    return f"""\
# Throwaway config written by responder.devservers; nothing from /etc/dovecot is used.
base_dir = {run_dir}
state_dir = {base_dir / "state"}
log_path = {log_path}
info_log_path = {log_path}
listen = {HOST}
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
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
  mailbox Sent {{
    special_use = \\Sent
  }}
  mailbox Trash {{
    special_use = \\Trash
  }}
}}

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
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
"""
