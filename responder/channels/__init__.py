"""Channels: thin adapters that bring messages in and take replies out."""
