"""Email on the wire: RFC 5322 parsing and RFC 3834-aware composing."""
