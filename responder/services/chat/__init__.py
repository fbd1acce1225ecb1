"""Planning replies for chat channels against stored state."""
