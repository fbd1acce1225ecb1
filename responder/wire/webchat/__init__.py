"""The website chat's format: visitor message records in, panel events out (issue 17)."""
