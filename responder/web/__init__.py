"""The daemon's small HTTP endpoint: metrics, health and (issue 6) the survey pages."""
