"""The Telegram channel: long polling intake and the Bot API sender."""
