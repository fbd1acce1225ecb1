"""The email channel: IMAP intake (IDLE) and SMTP sending."""
