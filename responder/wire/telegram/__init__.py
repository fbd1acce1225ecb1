"""Telegram on the wire: updates in, message text and buttons out."""
