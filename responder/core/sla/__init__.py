"""SLA clocks in business time and the reminders they plan."""
