"""Benchmarks of the daemon against a minimal IMAP-IDLE-to-SMTP baseline (not tests)."""
