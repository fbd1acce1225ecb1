"""CSAT/NPS answers and when a survey is due."""
