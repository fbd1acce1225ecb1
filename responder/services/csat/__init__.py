"""Surveys after resolution: composing, sending and recording answers."""
