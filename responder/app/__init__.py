"""The composition root: the daemon's lifecycle, logging and systemd notification."""
