"""Auto-close: tickets that wait on the customer resolved once, when due (issue 18)."""
