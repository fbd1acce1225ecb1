"""Deciding for chat channels (Telegram): commands, buttons and customer messages."""
