"""Small building blocks every layer may use: named tasks, retry timing, redaction, the
memory budget, metrics."""
