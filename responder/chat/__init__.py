"""Chat channels (Telegram): reading updates, deciding, and what is posted back."""
