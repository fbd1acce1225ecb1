"""Satisfaction surveys: asking after a resolved ticket and reading the customer's answer."""
